// Enterprise-project (EP) authorization for EP-capable rows: which EPs a request touches (query,
// path, body) and whether the caller's EP-scoped grants allow every action in every one of them.
// The lookups themselves (snapshot or volume → EP) are the adapters' job: they are I/O.
import { effectInEnterpriseProject, type ActionEffect, type Grant } from '../iam/grants.js'
import { parametersNamed, securityName, type QueryReading } from '../request/query.js'
import { ownValue } from '../support/records.js'
import { ID_CONSTRAINT, type ApiFamily, type CompiledRoute, type ResourceKind } from '../routing/route-table.js'

/** How the enterprise project of a request was learnt. */
export interface EnterpriseProjectFact {
  readonly id: string
  /** `query`: named by the request; `resolver` / `cache`: looked up for a snapshot or volume. */
  readonly source: 'query' | 'resolver' | 'cache'
  /** Where the looked-up resource id came from. */
  readonly from: 'query' | 'path' | 'body'
}

/** The denials this stage decides (a subset of the decision's DenyReason). */
export type EnterpriseProjectDenyReason =
  | 'malformed-body' | 'malformed-query' | 'missing-action' | 'explicit-deny'
  | 'enterprise-project-required' | 'enterprise-project-unresolved' | 'enterprise-project-error'

/** The value of `enterprise_project_id` meaning "every EP the caller is granted". */
export const ALL_GRANTED_EPS = 'all_granted_eps'

/** A decision that still needs the request's enterprise project(s). */
export interface EnterpriseProjectQuestion {
  readonly kind: 'enterprise-project'
  readonly method: string
  readonly path: string
  /** The request target as received (path and query). */
  readonly url: string
  /** The request's query as the backend reads it. */
  readonly query: Extract<QueryReading, { kind: 'read' }>
  readonly family: ApiFamily
  readonly route: CompiledRoute
  readonly params: Readonly<Record<string, string>>
  /** `params.project_id` (see RouteMatch). */
  readonly projectId: string | undefined
  readonly grant: Grant
  /** True when a source is in the JSON body (create, rollback): the body must be read first. */
  readonly needsBody: boolean
}

/** One snapshot or volume whose enterprise project must be looked up. */
export interface EnterpriseProjectLookup {
  readonly kind: ResourceKind
  readonly id: string
  readonly from: 'path' | 'body'
}

/** What a lookup found. `unknown`: no such resource (or no EP); `failed`: the resolver erred or timed out. */
export type EnterpriseProjectResolution =
  | { readonly kind: 'found', readonly lookup: EnterpriseProjectLookup, readonly id: string, readonly cached: boolean }
  | { readonly kind: 'unknown' | 'failed', readonly lookup: EnterpriseProjectLookup, readonly detail: string }

/** The request's EP targets: query-named EPs and the lookups still to do. */
export type EnterpriseProjectTargets =
  | { readonly kind: 'targets', readonly named: readonly string[] | undefined, readonly lookups: readonly EnterpriseProjectLookup[] }
  | { readonly kind: 'refused', readonly reason: EnterpriseProjectDenyReason, readonly detail: string }

/** Targets that can be looked up and judged. */
export type ReadyTargets = Extract<EnterpriseProjectTargets, { kind: 'targets' }>

/**
 * The request body as the adapters read it: parsed JSON, or why it cannot be used (too large, not JSON, not
 * a JSON content type). Tagged, so nothing a client writes in its JSON can be mistaken for a problem.
 */
export type BodyReading =
  | { readonly kind: 'json', readonly value: unknown }
  | { readonly kind: 'problem', readonly problem: string }

/** Reads the query and body sources of a question. */
export function enterpriseProjectTargets (question: EnterpriseProjectQuestion, body: BodyReading | undefined): EnterpriseProjectTargets {
  let named: string[] | undefined
  const lookups: EnterpriseProjectLookup[] = []
  if (body?.kind === 'problem') return { kind: 'refused', reason: 'malformed-body', detail: body.problem }
  for (const source of question.route.enterpriseProjectFrom ?? []) {
    if (source.from === 'query') {
      const values = parametersNamed(question.query, new Set([securityName(source.name)])).map((p) => p.value)
      if (values.length === 0) {
        const detail = `enterprise-project grants only: name the enterprise project with ?${source.name}=<id>`
        return { kind: 'refused', reason: 'enterprise-project-required', detail }
      }
      // The backend reads one value (webob: the last); a gate that judged another would judge the wrong EP.
      if (values.length > 1) return { kind: 'refused', reason: 'malformed-query', detail: `${source.name} is given ${values.length} times` }
      named = [...(named ?? []), ...values]
    } else if (source.from === 'param') {
      const id = question.params[source.name]
      if (id !== undefined) lookups.push({ kind: source.kind, id, from: 'path' })
    } else {
      let value: unknown = body?.value
      for (const key of source.path) value = ownValue(value, key)
      // The id goes into an upstream lookup URL: only id-shaped values are accepted.
      if (typeof value !== 'string' || value.length > (ID_CONSTRAINT.maxLength ?? 255) || !ID_CONSTRAINT.pattern.test(value)) {
        return { kind: 'refused', reason: 'malformed-body', detail: `the JSON body needs ${source.path.join('.')} (an id)` }
      }
      lookups.push({ kind: source.kind, id: value, from: 'body' })
    }
  }
  return { kind: 'targets', named, lookups }
}

/** The outcome of an EP-scoped evaluation: allowed, or the reason with the missing actions. */
export type EnterpriseProjectVerdict =
  | { readonly kind: 'allow', readonly facts: readonly EnterpriseProjectFact[] }
  | {
    readonly kind: 'deny'
    readonly reason: EnterpriseProjectDenyReason
    readonly detail: string
    readonly missing: readonly string[]
    readonly action: string | undefined
    readonly facts: readonly EnterpriseProjectFact[]
  }

/** Every action must be allowed in every touched EP (project-wide and EP-scoped statements together). */
export function judgeEnterpriseProjects (
  question: EnterpriseProjectQuestion,
  targets: ReadyTargets,
  resolutions: readonly EnterpriseProjectResolution[],
  now: () => number
): EnterpriseProjectVerdict {
  const facts: EnterpriseProjectFact[] = []
  for (const r of resolutions) {
    if (r.kind === 'failed') return refuse('enterprise-project-error', `${r.lookup.kind} ${r.lookup.id}: ${r.detail}`, [])
  }
  for (const r of resolutions) {
    if (r.kind !== 'found') {
      return refuse('enterprise-project-unresolved', `no enterprise project for ${r.lookup.kind} ${r.lookup.id} (${r.detail})`, facts)
    }
    facts.push({ id: r.id, source: r.cached ? 'cache' : 'resolver', from: r.lookup.from })
  }
  const grant = question.grant
  const ids = facts.map((f) => f.id)
  for (const named of targets.named ?? []) {
    if (named.trim().toLowerCase() === ALL_GRANTED_EPS) {
      // Reached only when project-wide grants do not allow the list: the backend would answer with every
      // EP the caller has ANY grant in, which is more than an EP-scoped grant can vouch for.
      const detail = `${ALL_GRANTED_EPS} needs a project-wide grant; name one enterprise project instead`
      return refuse('enterprise-project-required', detail, facts)
    }
    ids.push(named)
    facts.push({ id: named, source: 'query', from: 'query' })
  }
  for (const id of new Set(ids)) {
    const effects = question.route.actionParts.map((action): [string, ActionEffect] =>
      [action.name, effectInEnterpriseProject(grant, id, action, now)])
    const missing = effects.filter(([, effect]) => effect !== 'allow').map(([action]) => action)
    if (missing.length === 0) continue
    const denied = effects.find(([, effect]) => effect === 'deny')?.[0]
    const granted = grant.enterpriseProjects.has(id) ? 'granted' : 'not granted'
    return {
      kind: 'deny',
      reason: denied === undefined ? 'missing-action' : 'explicit-deny',
      detail: `in enterprise project ${id} (${granted} to the caller)`,
      missing,
      action: denied ?? missing[0],
      facts
    }
  }
  return { kind: 'allow', facts }
}

function refuse (reason: EnterpriseProjectDenyReason, detail: string, facts: readonly EnterpriseProjectFact[]): EnterpriseProjectVerdict {
  return { kind: 'deny', reason, detail, missing: [], action: undefined, facts }
}
