// The first stage: the request as the backend will read it, before any route or token is looked at. The
// path gate decides whether the target is ours and canonical; the query is read the way webob reads it;
// method overrides and form bodies are refused. Reasons decided here: `malformed-path`, `malformed-query`,
// `method-override`, `malformed-body` (body type); everything else is for the later stages.
import { denyDecision, type DenyDecision, type DenyReason } from '../decision/decision.js'
import type { ApiFamily } from '../routing/route-table.js'
import { isFormType, queryOverride, scanHeaders, SEVERAL_CONTENT_TYPES, type RequestHeaders } from './override.js'
import type { PathInspection } from './path-gate.js'
import { readQuery, type QueryParameters } from './query.js'

/** The parts of a request the authorizer reads. */
export interface RequestTarget {
  readonly method: string
  /** The request target exactly as received (path and query; origin-form expected). */
  readonly url: string
  readonly headers?: RequestHeaders
}

/**
 * The gate's answer for a target; a guarded one may carry its row already (`M`: the routing stage's match),
 * found by the fast path that validates and matches a plainly canonical target in one scan
 * (routing/target-reader.ts). Undefined: the routing stage looks the path up itself.
 */
export type TargetInspection<M> =
  | Exclude<PathInspection, { kind: 'guarded' }>
  | { readonly kind: 'guarded', readonly path: string, readonly start: number, readonly match: M | undefined }

/** A guarded request, read: what the routing and IAM stages work from. */
export interface ReadRequest<M = unknown> {
  readonly kind: 'read'
  readonly method: string
  /** The canonical path (no query). */
  readonly path: string
  /** Where the template part of the path starts (the `/` after the prefix). */
  readonly start: number
  /** The request target as received. */
  readonly url: string
  /** The query as the backend reads it. */
  readonly query: QueryParameters
  /** The media type of the body (lower-cased, without parameters), if the request names exactly one. */
  readonly contentType: string | undefined
  /** The row, when the fast path found it while reading the target (see TargetInspection). */
  readonly match: M | undefined
}

export type RequestReading<M = unknown> = { readonly kind: 'outside' } | DenyDecision | ReadRequest<M>

/** A query the decision must read: escapes or non-ASCII (any name may hide), or a name it reads spelled plainly. */
const QUERY_NEEDS_READING = /[%\u0080-\uffff]|all_|_method|enterprise/i
const NO_QUERY: QueryParameters = Object.freeze({ kind: 'read', parameters: Object.freeze([]) })

/** Compiles the reading for one target inspection (the path gate, with the routing stage's fast path in front). */
export function compileRequestReader<M> (
  inspectTarget: (method: string, target: string) => TargetInspection<M>
): (request: RequestTarget) => RequestReading<M> {
  return function readRequest (request) {
    const method = request.method
    const gated = inspectTarget(method, request.url)
    if (gated.kind === 'outside') return gated
    if (gated.kind === 'malformed') {
      return denyDecision('malformed-path', method, truncate(gated.path), guessFamily(gated.path), { detail: gated.problem })
    }
    const path = gated.path
    // The gate refused fragments, so the query is everything after the first `?` (as eventlet splits it).
    const rawQuery = request.url.length === path.length ? '' : request.url.slice(path.length + 1)
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
    return { kind: 'read', method, path, start: gated.start, url: request.url, query, contentType, match: gated.match }
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
