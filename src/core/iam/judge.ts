// The third stage: what the caller's grants say about a pending request. Decided here: `no-credentials`,
// `invalid-grants`, `grants-error`, `route-not-found`, `method-not-allowed`, `project-mismatch`,
// `missing-action`, `explicit-deny`, `enterprise-project-unsupported`, `malformed-body` (an EP body that is not
// JSON) and the allow `granted`; or, when only enterprise-project grants could allow, the question the
// enterprise stage answers.
import { allowDecision, denyDecision, type Decision, type DenyDecision } from '../decision/decision.js'
import type { EnterpriseProjectQuestion } from '../enterprise/enterprise.js'
import { isJsonType } from '../request/override.js'
import type { CrossProjectRule } from '../request/cross-project.js'
import type { PendingMatch } from '../routing/matcher.js'
import type { PendingRequest } from '../routing/route-request.js'
import type { CompiledRoute } from '../routing/route-table.js'
import type { Catalogue } from './catalogue.js'
import {
  effectInEnterpriseProject, effectOf, readGrants, rememberedVerdict, rememberVerdict, type Grant, type GrantResult, type RouteVerdict
} from './grants.js'
import { unknownRolesDetail } from './unknown-roles.js'

export interface Judge {
  /**
   * The decision for a pending request and the caller's claims. Never throws: an error while evaluating fails
   * closed (`grants-error`) and is handed to `onError` for the log.
   */
  decide (pending: PendingRequest, claims: unknown, onError?: (error: unknown) => void): Decision | EnterpriseProjectQuestion
  /** The denial when the claims could not be read at all (grants() threw or rejected). */
  fail (pending: PendingRequest, error: unknown): DenyDecision
}

export type { RouteVerdict } from './grants.js'

const ALLOWED: RouteVerdict = Object.freeze({ missing: undefined, denied: undefined })

/** Why an enterprise-project grant did not count (the answer's message says what to do). */
const UNSUPPORTED_EP_DETAIL = 'enterprise-project grants do not apply to OpenStack-Cinder rows ' +
  '(project-wide grants only; the cloudsnapshots rows take them)'

/** Compiles the stage: grants are read once per claims object (a verifier cache hands back the same object). */
export function compileJudge (catalogue: Catalogue, now: () => number, guardCrossProject: CrossProjectRule): Judge {
  const grantCache = new WeakMap<object, GrantResult>()

  function grantsOf (claims: unknown): GrantResult {
    if (typeof claims !== 'object' || claims === null) return readGrants(claims, catalogue)
    let result = grantCache.get(claims)
    if (result === undefined) {
      result = readGrants(claims, catalogue)
      grantCache.set(claims, result)
    }
    return result
  }

  function judge (pending: PendingRequest, claims: unknown): Decision | EnterpriseProjectQuestion {
    const { method, path, match, family } = pending
    const result = grantsOf(claims)
    if (result.kind !== 'grant') {
      const detail = result.kind === 'invalid-grants' ? result.detail : undefined
      return denyDecision(result.kind, method, path, family, { detail, matched: matchedRoute(match) })
    }
    const grant = result.grant
    const userId = grant.userId
    if (match.kind === 'no-route') {
      const detail = match.rejectedParam === undefined ? undefined : `{${match.rejectedParam}} rejected`
      return denyDecision('route-not-found', method, path, family, { userId, detail })
    }
    if (match.kind === 'no-method') {
      return denyDecision('method-not-allowed', method, path, family, { userId, detail: allowedDetail(match.allowed) })
    }
    const { route, params, projectId } = match
    if (projectId !== undefined && grant.projectId !== projectId) {
      const detail = grant.projectId === undefined ? 'the token names no project' : 'token project differs'
      return denyDecision('project-mismatch', method, path, family, { matched: match, userId, detail })
    }
    // A clock-free grant's verdict per route is computed once (grants.ts rememberedVerdict / rememberVerdict).
    const verdict = rememberedVerdict(grant, route.index) ?? rememberVerdict(grant, route.index, routeVerdict(grant, route, now))
    const { missing, denied } = verdict
    if (missing === undefined) {
      return guardCrossProject(allowDecision('granted', method, path, match, userId), pending.url, pending.query, grant, family)
    }
    // A project-wide Deny cannot be lifted by an enterprise-project grant.
    if (denied === undefined && grant.enterpriseProjects.size > 0) {
      if (route.enterpriseProject) {
        const needsBody = route.enterpriseProjectFrom?.some((s) => s.from === 'body') === true
        // EP bodies are read as JSON only: another content type would be read differently by the backend.
        if (needsBody && (pending.contentType === undefined || !isJsonType(pending.contentType))) {
          const detail = 'the body must be application/json'
          return denyDecision('malformed-body', method, path, family, { matched: match, userId, detail })
        }
        const { url, query } = pending
        return { kind: 'enterprise-project', method, path, url, query, family, route, params, projectId, grant, needsBody }
      }
      if (enterpriseProjectWouldAllow(grant, route, missing, now)) {
        const extras = { matched: match, userId, missing, action: missing[0], detail: UNSUPPORTED_EP_DETAIL }
        return denyDecision('enterprise-project-unsupported', method, path, family, extras)
      }
    }
    const detail = unknownRolesDetail(grant.unknownRoles)
    const reason = denied === undefined ? 'missing-action' : 'explicit-deny'
    return denyDecision(reason, method, path, family, { matched: match, userId, missing, action: denied ?? missing[0], detail })
  }

  function fail (pending: PendingRequest, error: unknown): DenyDecision {
    // The class only: the adapters log the error itself (pino `err`) next to the decision.
    const name = error instanceof Error ? error.name : typeof error
    return denyDecision('grants-error', pending.method, pending.path, pending.family, {
      matched: matchedRoute(pending.match), detail: `grants() failed: ${name}`
    })
  }

  return {
    decide (pending, claims, onError) {
      try {
        return judge(pending, claims)
      } catch (error) {
        // Hostile claims must never throw out of a decision: fail closed, the same in every caller.
        onError?.(error)
        return fail(pending, error)
      }
    },
    fail
  }
}

// A node's no-method answer is one frozen value (routing/matcher.ts), so its detail is built once, not per request.
const allowedDetails = new WeakMap<readonly string[], string>()

function allowedDetail (allowed: readonly string[]): string {
  let detail = allowedDetails.get(allowed)
  if (detail === undefined) {
    detail = `allowed: ${allowed.join(', ')}`
    allowedDetails.set(allowed, detail)
  }
  return detail
}

/** Every required action's effect for the grant, in table order. */
export function routeVerdict (grant: Grant, route: CompiledRoute, now: () => number): RouteVerdict {
  let missing: string[] | undefined
  let denied: string | undefined
  for (const action of route.actionParts) {
    const effect = effectOf(grant, action, now)
    if (effect === 'allow') continue
    ;(missing ??= []).push(action.name)
    if (effect === 'deny') denied ??= action.name
  }
  // Frozen: a remembered verdict is handed to every later decision on this route (as `missing`).
  return missing === undefined ? ALLOWED : Object.freeze({ missing: Object.freeze(missing), denied })
}

/** Whether some enterprise project's grants would allow every missing action (on a row that does not take them). */
function enterpriseProjectWouldAllow (grant: Grant, route: CompiledRoute, missing: readonly string[], now: () => number): boolean {
  const actions = route.actionParts.filter((action) => missing.includes(action.name))
  for (const id of grant.enterpriseProjects.keys()) {
    if (actions.every((action) => effectInEnterpriseProject(grant, id, action, now) === 'allow')) return true
  }
  return false
}

function matchedRoute (match: PendingMatch): Extract<PendingMatch, { kind: 'matched' }> | undefined {
  return match.kind === 'matched' ? match : undefined
}
