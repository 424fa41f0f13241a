// The first stage: the request as the backend will read it, before any route or token is looked at. The
// path gate decides whether the target is ours and canonical; the query is read the way webob reads it;
// method overrides and form bodies are refused. Reasons decided here: `malformed-path`, `malformed-query`,
// `method-override`, `malformed-body` (body type); everything else is for the later stages.
import { denyDecision, type DenyDecision, type DenyReason } from '../decision/decision.js'
import type { ApiFamily } from '../routing/route-table.js'
import { isFormType, queryOverride, scanHeaders, SEVERAL_CONTENT_TYPES, type RequestHeaders } from './override.js'
import type { PathGate } from './path-gate.js'
import { readQuery, type QueryParameters } from './query.js'

/** The parts of a request the authorizer reads. */
export interface RequestTarget {
  readonly method: string
  /** The request target exactly as received (path and query; origin-form expected). */
  readonly url: string
  readonly headers?: RequestHeaders
}

/**
 * The routing stage, handed a guarded request as read (positional, so reading a request allocates only what it
 * returns): the method, the canonical path (no query), where its template part starts (the `/` after the prefix),
 * the request target as received, the query as the backend reads it, the body's media type (lower-cased, without
 * parameters) when the request names exactly one, and the row when the fast path found it while reading the target
 * (`M`: the routing stage's match; undefined: the routing stage looks the path up itself).
 */
export type RouteStep<M, R> = (
  method: string, path: string, start: number, url: string, query: QueryParameters, contentType: string | undefined, match: M | undefined
) => R

/** The request stage's answer: outside the guarded space, refused already, or what the routing stage made of it. */
export type RequestReading<R> = { readonly kind: 'outside' } | DenyDecision | R

/** A query the decision must read: escapes or non-ASCII (any name may hide), or a name it reads spelled plainly. */
const QUERY_NEEDS_READING = /[%\u0080-\uffff]|all_|_method|enterprise/i
const NO_QUERY: QueryParameters = Object.freeze({ kind: 'read', parameters: Object.freeze([]) })

/**
 * Compiles the request stage: the gate reads the target, the query and headers are read, and the request goes on
 * to `route`. `matchPlain` is the routing stage's fast path (routing/target-reader.ts): for a plainly canonical
 * target it validates and matches in one scan, and the gate's full reading is skipped.
 */
export function compileRequestReader<M, R> (
  gate: PathGate, prefixLength: number, matchPlain: (method: string, target: string) => M | undefined, route: RouteStep<M, R>
): (request: RequestTarget) => RequestReading<R> {
  return function readRequest (request) {
    const { method, url } = request
    const match = matchPlain(method, url)
    let path: string
    let start: number
    if (match !== undefined) {
      // The fast path saw no `#`: the path is everything before the first `?`.
      const question = url.indexOf('?')
      path = question === -1 ? url : url.slice(0, question)
      start = prefixLength
    } else {
      const gated = gate.inspect(url)
      if (gated.kind === 'outside') return gated
      if (gated.kind === 'malformed') {
        return denyDecision('malformed-path', method, truncate(gated.path), guessFamily(gated.path), { detail: gated.problem })
      }
      path = gated.path
      start = gated.start
    }
    // The gate refused fragments, so the query is everything after the first `?` (as eventlet splits it).
    const rawQuery = url.length === path.length ? '' : url.slice(path.length + 1)
    // Most queries (`limit=10&marker=...`) cannot spell a name the decision reads: one native scan skips them.
    const query = rawQuery === '' || !QUERY_NEEDS_READING.test(rawQuery) ? NO_QUERY : readQuery(rawQuery)
    if (query.kind !== 'read') {
      return refuse('malformed-query', method, path, `a query parameter is not valid UTF-8 once decoded (at offset ${query.at})`)
    }
    const headers = scanHeaders(request.headers)
    const override = headers.override ?? queryOverride(rawQuery, query)
    if (override !== undefined) return refuse('method-override', method, path, override)
    const contentType = headers.contentType
    if (contentType === SEVERAL_CONTENT_TYPES) {
      return refuse('malformed-body', method, path, 'several Content-Type headers (the backend may read another one)')
    }
    if (contentType !== undefined && isFormType(contentType)) {
      const detail = `${contentType} bodies are refused (the backend reads _method from form posts); send JSON`
      return refuse('malformed-body', method, path, detail)
    }
    return route(method, path, start, url, query, contentType, match)
  }
}

// A module-level function, not a closure per request: reading a request allocates only what it returns.
function refuse (reason: DenyReason, method: string, path: string, detail: string): DenyDecision {
  return denyDecision(reason, method, path, guessFamily(path), { detail })
}

/** The error envelope for a request no route has claimed yet: EVS's for its own collection, Cinder's otherwise. */
export function guessFamily (path: string): ApiFamily {
  return /cloudsnapshots/i.test(path) ? 'evs' : 'cinder'
}

function truncate (path: string): string {
  return path.length > 512 ? `${path.slice(0, 512)}…` : path
}
