// The decision log line, built the same way for every adapter so Fastify and Express lines are identical.
// It carries ids and action names only: never the token, the claims or request headers.
import type { Decision } from './decision.js'

/** `enforce` blocks denials; `audit` only logs what would have been denied. */
export type Mode = 'enforce' | 'audit'

/** The constant message of every decision line (filter on it). */
export const DECISION_MESSAGE = 'evs-authz decision'

/** Fields of one decision line. */
export interface DecisionLogFields {
  readonly decision: 'allow' | 'deny'
  readonly reason: Decision['reason']
  readonly mode: Mode
  readonly status: number | undefined
  readonly method: string
  readonly path: string
  readonly route: string | undefined
  readonly template: string | undefined
  readonly requiredActions: readonly string[]
  readonly missingActions: readonly string[]
  readonly projectId: string | undefined
  readonly userId: string | undefined
  readonly requestId: string | undefined
  readonly detail: string | undefined
  /** EP-scoped decisions: the enterprise projects and how each was learnt (query, resolver, cache). */
  readonly enterpriseProjects: ReadonlyArray<{ readonly id: string, readonly source: string, readonly from: string }> | undefined
}

export function decisionLogFields (decision: Decision, mode: Mode, requestId: string | undefined): DecisionLogFields {
  return {
    decision: decision.kind,
    reason: decision.reason,
    mode,
    status: decision.kind === 'allow' ? undefined : decision.status,
    method: decision.method,
    path: decision.path,
    route: decision.route?.name,
    template: decision.route?.template,
    requiredActions: decision.required,
    missingActions: decision.missing,
    projectId: decision.projectId,
    userId: decision.userId,
    requestId,
    detail: decision.detail,
    enterpriseProjects: decision.enterpriseProjects.length === 0 ? undefined : decision.enterpriseProjects
  }
}

/** Allows at debug (a per-allow info line costs real throughput), denials at info, failures at error. */
export function decisionLogLevel (decision: Decision): 'debug' | 'info' | 'error' {
  if (decision.kind === 'allow') return 'debug'
  return decision.status === 500 ? 'error' : 'info'
}
