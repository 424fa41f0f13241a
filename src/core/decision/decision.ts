// Decisions are values: a closed union of reasons, each with the facts needed to answer and to log.
// Every later stage reads a decision by its `kind` (`allow` or `deny`) and never rebuilds one.
import type { EnterpriseProjectFact } from '../enterprise/enterprise.js'
import type { ApiFamily, CompiledRoute } from '../routing/route-table.js'

/** Why a request was let through (`not-guarded`: outside the guarded API space, not judged). */
export type AllowReason = 'granted' | 'unmatched-pass' | 'not-guarded'

/** Why a request was refused, in the order the checks run. */
export type DenyReason =
  | 'malformed-path'
  | 'method-override'
  | 'no-credentials'
  | 'invalid-grants'
  | 'grants-error'
  | 'route-not-found'
  | 'method-not-allowed'
  | 'project-mismatch'
  | 'explicit-deny'
  | 'missing-action'
  | 'malformed-body'
  | 'malformed-query'
  | 'enterprise-project-unsupported'
  | 'enterprise-project-required'
  | 'enterprise-project-unresolved'
  | 'enterprise-project-error'
  | 'cross-project-query'

/** HTTP status per denial reason. */
export const DENY_STATUS: Readonly<Record<DenyReason, 400 | 401 | 403 | 500>> = Object.freeze({
  'malformed-path': 400,
  'method-override': 400,
  'no-credentials': 401,
  'invalid-grants': 403,
  'grants-error': 500,
  'route-not-found': 403,
  'method-not-allowed': 403,
  'project-mismatch': 403,
  'explicit-deny': 403,
  'missing-action': 403,
  'malformed-body': 400,
  'malformed-query': 400,
  'enterprise-project-unsupported': 403,
  'enterprise-project-required': 403,
  'enterprise-project-unresolved': 403,
  'enterprise-project-error': 500,
  'cross-project-query': 403
})

interface DecisionFacts {
  readonly method: string
  /** The path that was authorized or refused (no query string). */
  readonly path: string
  readonly route: CompiledRoute | undefined
  readonly params: Readonly<Record<string, string>>
  /** Actions the route requires (all of them). */
  readonly required: readonly string[]
  /** Required actions the grant does not allow, in table order. */
  readonly missing: readonly string[]
  /** The project in the path. */
  readonly projectId: string | undefined
  /** The caller, when the grant names one. */
  readonly userId: string | undefined
  /** A short, log-safe explanation (never token material). */
  readonly detail: string | undefined
  /** The enterprise projects that decided an EP-scoped decision (empty otherwise). */
  readonly enterpriseProjects: readonly EnterpriseProjectFact[]
}

export interface AllowDecision extends DecisionFacts {
  readonly kind: 'allow'
  readonly reason: AllowReason
  /** When set, forward this URL instead of the received one (cross-project parameters removed). */
  readonly forwardUrl: string | undefined
}

export interface DenyDecision extends DecisionFacts {
  readonly kind: 'deny'
  readonly reason: DenyReason
  readonly status: 400 | 401 | 403 | 500
  /** Which error envelope the answer uses. */
  readonly family: ApiFamily
  /** The action the answer names (the first explicitly denied, else the first missing). */
  readonly action: string | undefined
}

export type Decision = AllowDecision | DenyDecision

// Object.create returns `any`; a null prototype means no inherited names (`params['constructor']` is undefined).
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>)
const NONE: readonly string[] = Object.freeze([])
const NONE_EP: readonly EnterpriseProjectFact[] = Object.freeze([])

/** The route a request matched and the parameters read from its path. */
export interface RouteMatch {
  readonly route: CompiledRoute
  readonly params: Readonly<Record<string, string>>
  /** `params.project_id` (undefined when the route has none). */
  readonly projectId: string | undefined
}

/** Optional facts of a denial. */
export interface DenyExtras {
  /** The route, when the request matched one (its actions are the decision's `required`). */
  readonly matched?: RouteMatch | undefined
  readonly userId?: string | undefined
  readonly detail?: string | undefined
  readonly missing?: readonly string[]
  readonly action?: string | undefined
  readonly param?: string
  readonly enterpriseProjects?: readonly EnterpriseProjectFact[]
}

/** Builds a denial; the status follows from the reason. */
export function denyDecision (reason: DenyReason, method: string, path: string, family: ApiFamily, extras: DenyExtras = {}): DenyDecision {
  const route = extras.matched?.route
  const params = extras.matched?.params ?? NO_PARAMS
  return {
    kind: 'deny',
    reason,
    status: DENY_STATUS[reason],
    family,
    method,
    path,
    route,
    params,
    required: route?.actions ?? NONE,
    missing: extras.missing ?? NONE,
    action: extras.action,
    projectId: extras.matched?.projectId,
    userId: extras.userId,
    detail: extras.param === undefined ? extras.detail : `${extras.detail ?? ''}: {${extras.param}}`,
    enterpriseProjects: extras.enterpriseProjects ?? NONE_EP
  }
}

/** Builds an allow. */
export function allowDecision (
  reason: AllowReason, method: string, path: string, matched: RouteMatch | undefined, userId: string | undefined
): AllowDecision {
  const route = matched?.route
  const params = matched?.params ?? NO_PARAMS
  return {
    kind: 'allow',
    reason,
    method,
    path,
    route,
    params,
    required: route?.actions ?? NONE,
    missing: NONE,
    projectId: matched?.projectId,
    userId,
    detail: undefined,
    enterpriseProjects: NONE_EP,
    forwardUrl: undefined
  }
}
