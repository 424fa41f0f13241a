// The second stage: which row of the table a read request is. Decided here: `malformed-path` for a parameter
// spelled like a sibling static segment, and the allow `unmatched-pass`. A path with no row (or no row for
// its method) stays pending: the IAM stage answers it once the caller is known, so a caller without a token
// gets 401 before learning which paths exist.
import { denyDecision, type Decision, type DenyDecision } from '../decision/decision.js'
import { foldCase, type PathProblem } from '../request/path-gate.js'
import type { QueryParameters } from '../request/query.js'
import { guessFamily, type RouteStep } from '../request/read-request.js'
import type { Matcher, MatchResult, PendingMatch } from './matcher.js'
import type { ApiFamily } from './route-table.js'

/** A request read and looked up: it needs only the caller's grants to become a decision. */
export interface PendingRequest {
  readonly kind: 'pending'
  readonly method: string
  readonly path: string
  readonly url: string
  /** The query as the backend reads it. */
  readonly query: QueryParameters
  /** The media type of the body (lower-cased, without parameters), if the request names exactly one. */
  readonly contentType: string | undefined
  readonly match: PendingMatch
  /** The error envelope: the matched row's family, else a guess from the path. */
  readonly family: ApiFamily
}

/** What `unmatched: 'pass'` answers for a path with no row: an allow the cross-project rule still applies to. */
export type PassUnmatched = (method: string, path: string, url: string, query: QueryParameters) => Decision

/**
 * Compiles the routing step. `unmatched: 'pass'` lets a path with no row through (never one that names a
 * snapshot collection in any spelling); `passUnmatched` builds that allow (the cross-project rule applies).
 */
export function compileRouting (
  matcher: Matcher, unmatched: 'deny' | 'pass', passUnmatched: PassUnmatched
): RouteStep<MatchResult, PendingRequest | Decision> {
  return function routeRequest (method, path, start, url, query, contentType, fastMatch): PendingRequest | Decision {
    // The fast path may have matched while reading the target (routing/target-reader.ts).
    const match = fastMatch ?? matcher.match(method, path, start)
    if (match.kind === 'ambiguous') return ambiguous(method, path, match.param)
    if (match.kind !== 'matched' && unmatched === 'pass' && !looksLikeSnapshots(path)) return passUnmatched(method, path, url, query)
    const family = match.kind === 'matched' ? match.route.family : match.kind === 'no-method' ? match.family : guessFamily(path)
    return { kind: 'pending', method, path, url, query, contentType, match, family }
  }
}

function ambiguous (method: string, path: string, param: string): DenyDecision {
  const detail: PathProblem = 'ambiguous-segment'
  return denyDecision('malformed-path', method, path, guessFamily(path), { detail, param })
}

/** Anything that names a snapshot collection, in any case or spelling, is never let through unmatched. */
function looksLikeSnapshots (path: string): boolean {
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return true
  }
  return foldCase(decoded).includes('snapshot')
}
