// The single seam: gate → match → grants → decision. Both adapters and the CLI call this and only
// translate its Decision. Everything is compiled here, once; per request only a tree walk and a few
// map lookups remain.
import { splitAction, type ActionParts } from './iam/action-pattern.js'
import { compileCatalogue } from './iam/catalogue.js'
import { allowDecision, denyDecision, type AllowDecision, type Decision, type DenyDecision, type DenyExtras, type DenyReason } from './decision/decision.js'
import {
  enterpriseProjectTargets, isEnterpriseProjectQuestion, judgeEnterpriseProjects,
  type BodyReading, type EnterpriseProjectQuestion, type EnterpriseProjectResolution, type EnterpriseProjectTargets
} from './enterprise/enterprise.js'
import { ProblemList, describe } from './support/errors.js'
import { checkOptionNames } from './support/option-names.js'
import { unknownRolesDetail } from './iam/unknown-roles.js'
import { ALL_PROJECTS_ACTION, withoutCrossProjectParams } from './request/cross-project.js'
import { parametersNamed, readQuery, type QueryReading } from './request/query.js'
import { allowsExplicitly, effectInEnterpriseProject, effectOf, readGrants, type Grant, type GrantResult } from './iam/grants.js'
import { compileMatcher, type MatchResult } from './routing/matcher.js'
import { DEFAULT_VERSIONS, compilePathGate, foldCase, type PathProblem } from './request/path-gate.js'
import type { IamPolicy } from './iam/policy.js'
import { loadRouteTable, type ApiFamily, type CompiledRoute, type RouteDefinition } from './routing/route-table.js'
import { snapshotRoutes } from '../routes/snapshots.js'

/** Options shared by every adapter. */
export interface AuthorizerOptions {
  /** The route table (default: the built-in snapshot table, `snapshotRoutes`). Extend it with `[...snapshotRoutes, ...yours]`. */
  readonly routes?: readonly RouteDefinition[]
  /** Path prefix in front of `/v2` and `/v3`, e.g. `/evs` (default: `''`). */
  readonly prefix?: string
  /** Unmatched paths in the guarded space: `'deny'` (default) or `'pass'` (never for snapshot-like paths). */
  readonly unmatched?: 'deny' | 'pass'
  /** Role name → policy document(s); adds to or replaces the built-in system roles. */
  readonly policies?: Readonly<Record<string, IamPolicy | readonly IamPolicy[]>>
  /** What `{project_id}` must look like (default: `/^[0-9a-f-]+$/`, Cinder's). */
  readonly projectIdPattern?: RegExp
  /** Clock for `g:CurrentTime` conditions (default: `Date.now`). */
  readonly now?: () => number
  /** `all_tenants` / `all_projects` in the query: `'strip'` them from the forwarded URL (default) or `'deny'`. */
  readonly crossProjectQuery?: 'strip' | 'deny'
}

/** The parts of a request the authorizer reads. */
export interface RequestTarget {
  readonly method: string
  /** The request target exactly as received (path and query; origin-form expected). */
  readonly url: string
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>
}

/** EP targets that can be resolved (see enterpriseTargets). */
export type ReadyTargets = Extract<EnterpriseProjectTargets, { ok: true }>

/** A lookup that still needs the caller's grants to become a decision. */
export type PendingMatch = Exclude<MatchResult, { kind: 'ambiguous' }>

/** The claims-independent half of a decision, computed before any token is read. */
export type Inspection =
  | { readonly kind: 'outside' }
  | { readonly kind: 'decided', readonly decision: Decision }
  | {
    readonly kind: 'pending'
    readonly method: string
    readonly path: string
    readonly url: string
    /** The query as the backend reads it (query.ts). */
    readonly query: Extract<QueryReading, { kind: 'read' }>
    /** The media type of the body (lower-cased, without parameters), if the request names exactly one. */
    readonly contentType: string | undefined
    readonly match: PendingMatch
    readonly family: ApiFamily
  }

export interface Authorizer {
  /** Gate and match: no claims needed. `outside` paths are not ours to judge. */
  inspect (request: RequestTarget): Inspection
  /**
   * Completes a pending inspection with the caller's decoded claims (null/undefined: no token). On an
   * EP-capable row where only enterprise-project grants could allow, returns the question of which EPs
   * the request touches: answer it with enterpriseTargets (query, body) and answer (looked-up EPs).
   */
  decide (inspection: Extract<Inspection, { kind: 'pending' }>, claims: unknown): Decision | EnterpriseProjectQuestion
  /** The EPs a question's request names and the lookups to do (or a denial: malformed body, EP required). */
  enterpriseTargets (question: EnterpriseProjectQuestion, body: unknown): ReadyTargets | DenyDecision
  /** The decision once every lookup is resolved. */
  answer (question: EnterpriseProjectQuestion, targets: ReadyTargets, resolutions: readonly EnterpriseProjectResolution[]): Decision
  /** Completes a pending inspection when reading the grants failed: fail closed. */
  fail (inspection: Extract<Inspection, { kind: 'pending' }>, error: unknown): DenyDecision
  /**
   * inspect + decide, synchronously; requests outside the guarded space get an allow with reason
   * `not-guarded` (adapters neither log nor decorate those). EP questions
   * are answered when the query names the EPs; those needing a body or a lookup are denied
   * (`enterprise-project-unresolved`): the adapters do those.
   */
  authorize (request: RequestTarget, claims: unknown): Decision
  readonly routes: readonly CompiledRoute[]
}

/** Why an enterprise-project grant did not count (the answer's message says what to do). */
const UNSUPPORTED_EP_DETAIL = 'enterprise-project grants do not apply to OpenStack-Cinder rows ' +
  '(project-wide grants only; the cloudsnapshots rows take them)'
const OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override'])
const METHOD_PARAMETER: ReadonlySet<string> = new Set(['_method'])
/** A query the decision must read: escapes or non-ASCII (any name may hide), or a name it reads spelled plainly. */
const QUERY_NEEDS_READING = /[%\u0080-\uffff]|all_|_method|enterprise/i
const NO_QUERY: Extract<QueryReading, { kind: 'read' }> = Object.freeze({ kind: 'read', parameters: Object.freeze([]) })
/** Bodies Routes reads `_method` from (RoutesMiddleware is_form_post: urlencoded and multipart forms). */
const isFormType = (type: string): boolean => type === 'application/x-www-form-urlencoded' || type.startsWith('multipart/')
const CANONICAL_PREFIX = /^(\/[A-Za-z0-9._~-]+)*$/
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>)

/** Checks the scalar options, adding every problem to `problems` (adapters add theirs to the same list). */
export function checkAuthorizerOptions (options: AuthorizerOptions, problems: ProblemList): void {
  checkOptionNames(options, problems)
  const prefix = options.prefix ?? ''
  if (typeof prefix !== 'string' || !CANONICAL_PREFIX.test(prefix) || /(^|\/)\.\.?(\/|$)/.test(prefix)) {
    problems.add('prefix', `should be '' or a canonical path without a trailing slash such as '/evs', instead got ${describe(prefix)}`)
  }
  const unmatched = options.unmatched ?? 'deny'
  if (unmatched !== 'deny' && unmatched !== 'pass') problems.add('unmatched', `should be 'deny' or 'pass', instead got ${describe(unmatched)}`)
  if (options.projectIdPattern !== undefined && !(options.projectIdPattern instanceof RegExp)) {
    problems.add('projectIdPattern', `should be a RegExp, instead got ${describe(options.projectIdPattern)}`)
  }
  if (options.now !== undefined && typeof options.now !== 'function') problems.add('now', 'should be a function returning epoch milliseconds')
  const crossProject = options.crossProjectQuery ?? 'strip'
  if (crossProject !== 'strip' && crossProject !== 'deny') problems.add('crossProjectQuery', `should be 'strip' or 'deny', instead got ${describe(crossProject)}`)
}

/** Validates options (throws EVS_AUTHZ_ERR_OPTIONS / _ROUTE_TABLE / _POLICY listing every problem) and compiles. */
export function createAuthorizer (options: AuthorizerOptions = {}): Authorizer {
  const problems = new ProblemList()
  checkAuthorizerOptions(options, problems)
  problems.throwIfAny('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options')
  const prefix = options.prefix ?? ''
  const unmatched = options.unmatched ?? 'deny'

  const routes = loadRouteTable(options.routes ?? snapshotRoutes, options.projectIdPattern === undefined ? {} : { projectIdPattern: options.projectIdPattern })
  const catalogue = compileCatalogue(options.policies)
  const matcher = compileMatcher(routes)
  // The guarded space: v2, v3 and the first segment of every template, so custom rows are never bypassed.
  const gate = compilePathGate(prefix, [...DEFAULT_VERSIONS, ...routes.flatMap((r) => (r.segments[0]?.kind === 'static' ? [r.segments[0].value] : []))])
  const now = options.now ?? Date.now
  const crossProjectQuery = options.crossProjectQuery ?? 'strip'
  const allProjectsAction = splitAction(ALL_PROJECTS_ACTION)

  /** Applies the cross-project rule to an allow: keep, strip from the forwarded URL, or deny. */
  function guardCrossProject (decision: AllowDecision, url: string, query: QueryReading, grant: Grant | undefined, family: ApiFamily): Decision {
    const stripped = withoutCrossProjectParams(url, query)
    if (stripped === undefined) return decision
    if (grant !== undefined && allowsExplicitly(grant, ALL_PROJECTS_ACTION, allProjectsAction, now)) return decision
    if (crossProjectQuery === 'deny') {
      return denyDecision('cross-project-query', decision.method, decision.path, family, { userId: decision.userId, detail: `all_tenants / all_projects need an explicit ${ALL_PROJECTS_ACTION} grant`, ...(decision.route === undefined ? {} : { match: { kind: 'matched', route: decision.route, params: decision.params } }) })
    }
    return { ...decision, forwardUrl: stripped, detail: 'cross-project query parameters removed' }
  }
  const actionParts = new Map<string, ActionParts>()
  for (const route of routes) for (const action of route.actions) actionParts.set(action, splitAction(action))
  // Compiled grants per claims object: a verifier cache that hands back the same object pays once.
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

  function inspect (request: RequestTarget): Inspection {
    const method = request.method
    const gated = gate.inspect(request.url)
    if (gated.kind === 'outside') return gated
    if (gated.kind === 'malformed') {
      return { kind: 'decided', decision: denyDecision('malformed-path', method, truncate(gated.path), guessFamily(gated.path), { detail: gated.problem }) }
    }
    const path = gated.path
    const deny = (reason: DenyReason, detail: string): Inspection => ({ kind: 'decided', decision: denyDecision(reason, method, path, guessFamily(path), { detail }) })
    // The gate refused fragments, so the query is everything after the first `?` (as eventlet splits it).
    const rawQuery = request.url.length === path.length ? '' : request.url.slice(path.length + 1)
    // Most queries (`limit=10&marker=...`) cannot spell a name the decision reads: one native scan skips them.
    const query = rawQuery === '' || !QUERY_NEEDS_READING.test(rawQuery) ? NO_QUERY : readQuery(rawQuery)
    if (query.kind !== 'read') return deny('malformed-query', `a query parameter is not valid UTF-8 once decoded (at offset ${query.at})`)
    const headers = scanHeaders(request.headers)
    const override = headers.override ?? queryOverride(rawQuery, query)
    if (override !== undefined) return deny('method-override', override)
    const contentType = headers.contentType
    if (contentType === MANY) return deny('malformed-body', 'several Content-Type headers (the backend may read another one)')
    if (contentType !== undefined && isFormType(contentType)) {
      return deny('malformed-body', `${contentType} bodies are refused (the backend reads _method from form posts); send JSON`)
    }
    const match = matcher.match(method, path, gated.start)
    if (match.kind === 'ambiguous') {
      return { kind: 'decided', decision: denyDecision('malformed-path', method, path, guessFamily(path), { detail: 'ambiguous-segment' satisfies PathProblem, param: match.param }) }
    }
    if (match.kind !== 'matched' && unmatched === 'pass' && !looksLikeSnapshots(path)) {
      return { kind: 'decided', decision: guardCrossProject(allowDecision('unmatched-pass', method, path, undefined, NO_PARAMS, undefined), request.url, query, undefined, guessFamily(path)) }
    }
    const routeFamily = match.kind === 'matched' ? match.route.family : match.kind === 'no-method' ? match.family : guessFamily(path)
    return { kind: 'pending', method, path, url: request.url, query, contentType, match, family: routeFamily }
  }

  function decide (pending: Extract<Inspection, { kind: 'pending' }>, claims: unknown): Decision | EnterpriseProjectQuestion {
    const { method, path, match, family } = pending
    const result = grantsOf(claims)
    if (!result.ok) {
      return denyDecision(result.reason, method, path, family, { detail: result.reason === 'invalid-grants' ? result.detail : undefined, match })
    }
    const grant = result.grant
    if (match.kind === 'no-route') {
      return denyDecision('route-not-found', method, path, family, { userId: grant.userId, detail: match.rejectedParam === undefined ? undefined : `{${match.rejectedParam}} rejected` })
    }
    if (match.kind !== 'matched') {
      return denyDecision('method-not-allowed', method, path, family, { userId: grant.userId, detail: `allowed: ${match.allowed.join(', ')}` })
    }
    const { route, params } = match
    const projectId = params['project_id']
    if (projectId !== undefined && grant.projectId !== projectId) {
      return denyDecision('project-mismatch', method, path, family, { match, userId: grant.userId, detail: grant.projectId === undefined ? 'the token names no project' : 'token project differs' })
    }
    let missing: string[] | undefined
    let denied: string | undefined
    for (const action of route.actions) {
      const effect = effectOf(grant, action, actionParts.get(action) as ActionParts, now)
      if (effect === 'allow') continue
      ;(missing ??= []).push(action)
      if (effect === 'deny') denied ??= action
    }
    if (missing === undefined) return guardCrossProject(allowDecision('granted', method, path, route, params, grant.userId), pending.url, pending.query, grant, family)
    // A project-wide Deny cannot be lifted by an enterprise-project grant.
    if (denied === undefined && grant.enterpriseProjects.size > 0) {
      if (route.enterpriseProject) {
        const needsBody = route.enterpriseProjectFrom?.some((s) => s.from === 'body') === true
        // EP bodies are read as JSON only: another content type would be read differently by the backend.
        if (needsBody && (pending.contentType === undefined || !isJsonType(pending.contentType))) {
          return denyDecision('malformed-body', method, path, family, { match, userId: grant.userId, detail: 'the body must be application/json' })
        }
        return { kind: 'enterprise-project', method, path, url: pending.url, query: pending.query, family, route, params, grant, needsBody }
      }
      const epWouldAllow = [...grant.enterpriseProjects.keys()].some((id) =>
        (missing ?? []).every((action) => effectInEnterpriseProject(grant, id, action, actionParts.get(action) as ActionParts, now) === 'allow'))
      if (epWouldAllow) {
        return denyDecision('enterprise-project-unsupported', method, path, family, { match, userId: grant.userId, missing, action: missing[0], detail: UNSUPPORTED_EP_DETAIL })
      }
    }
    const detail = unknownRolesDetail(grant.unknownRoles)
    return denyDecision(denied === undefined ? 'missing-action' : 'explicit-deny', method, path, family, { match, userId: grant.userId, missing, action: denied ?? missing[0], detail })
  }

  function enterpriseTargets (question: EnterpriseProjectQuestion, body: BodyReading | undefined): ReadyTargets | DenyDecision {
    const targets = enterpriseProjectTargets(question, body)
    return targets.ok ? targets : questionDenial(question, targets.reason, { detail: targets.detail })
  }

  function answer (question: EnterpriseProjectQuestion, targets: ReadyTargets, resolutions: readonly EnterpriseProjectResolution[]): Decision {
    const verdict = judgeEnterpriseProjects(question, targets, resolutions, actionParts, now)
    if (verdict.allowed) {
      const allow = { ...allowDecision('granted', question.method, question.path, question.route, question.params, question.grant.userId), enterpriseProjects: verdict.facts }
      return guardCrossProject(allow, question.url, question.query, question.grant, question.family)
    }
    return questionDenial(question, verdict.reason, { detail: verdict.detail, missing: verdict.missing, action: verdict.action, enterpriseProjects: verdict.facts })
  }

  function questionDenial (question: EnterpriseProjectQuestion, reason: DenyReason, extras: DenyExtras): DenyDecision {
    const match: PendingMatch = { kind: 'matched', route: question.route, params: question.params }
    return denyDecision(reason, question.method, question.path, question.family, { ...extras, match, userId: question.grant.userId })
  }

  function fail (pending: Extract<Inspection, { kind: 'pending' }>, error: unknown): DenyDecision {
    // The class only: the adapters log the error itself (pino `err`) next to the decision.
    const name = error instanceof Error ? error.name : typeof error
    return denyDecision('grants-error', pending.method, pending.path, pending.family, { match: pending.match, detail: `grants() failed: ${name}` })
  }

  return {
    inspect,
    decide,
    fail,
    enterpriseTargets,
    answer,
    authorize (request, claims) {
      const inspection = inspect(request)
      if (inspection.kind === 'outside') return allowDecision('not-guarded', request.method, pathOnly(request.url), undefined, NO_PARAMS, undefined)
      if (inspection.kind === 'decided') return inspection.decision
      let result: Decision | EnterpriseProjectQuestion
      try {
        result = decide(inspection, claims)
      } catch (error) {
        // Hostile claims must never throw out of authorize(): the adapters fail closed the same way.
        return fail(inspection, error)
      }
      if (!isEnterpriseProjectQuestion(result)) return result
      if (result.needsBody) return questionDenial(result, 'enterprise-project-unresolved', { detail: 'needs the request body and an enterprise-project resolver' })
      const targets = enterpriseTargets(result, undefined)
      if (!('ok' in targets)) return targets
      if (targets.lookups.length > 0) return questionDenial(result, 'enterprise-project-unresolved', { detail: 'needs an enterprise-project resolver' })
      return answer(result, targets, [])
    },
    routes
  }
}

interface HeaderFacts {
  /** The method-override header present, as `<name> header`. */
  readonly override: string | undefined
  /** The Content-Type's media type, lower-cased, without parameters; MANY for several. */
  readonly contentType: string | typeof MANY | undefined
}

const NO_HEADER_FACTS: HeaderFacts = Object.freeze({ override: undefined, contentType: undefined })

/**
 * One pass over the header names: method-override headers and the Content-Type. Names are compared
 * case-insensitively (not every caller lower-cases them), and only names of the right length are folded.
 * Several Content-Type values mean MANY: Node keeps the first, eventlet's environ the last, so the two
 * would read different bodies.
 */
function scanHeaders (headers: RequestTarget['headers']): HeaderFacts {
  if (headers === undefined) return NO_HEADER_FACTS
  let override: string | undefined
  let type: string | readonly string[] | undefined
  let types = 0
  for (const name in headers) {
    const length = name.length
    if (length !== 12 && length !== 13 && length !== 17 && length !== 22) continue
    if (headers[name] === undefined) continue
    const lower = name.toLowerCase()
    if (lower === 'content-type') {
      type = headers[name]
      types++
    } else if (override === undefined && OVERRIDE_HEADERS.has(lower)) {
      override = `${lower} header`
    }
  }
  if (type === undefined) return override === undefined ? NO_HEADER_FACTS : { override, contentType: undefined }
  if (types > 1 || (typeof type !== 'string' && type.length !== 1)) return { override, contentType: MANY }
  const text = typeof type === 'string' ? type : type[0] ?? ''
  const semicolon = text.indexOf(';')
  return { override, contentType: (semicolon === -1 ? text : text.slice(0, semicolon)).trim().toLowerCase() }
}

/**
 * Routes' method override (RoutesMiddleware, use_method_override=True): when the RAW query string contains
 * `_method`, `req.GET.get('_method')` becomes the method the route is matched with. Refused when the raw query
 * mentions it at all, or any parameter name reads as `_method` in any spelling.
 */
function queryOverride (rawQuery: string, query: Extract<QueryReading, { kind: 'read' }>): string | undefined {
  if (rawQuery === '') return undefined
  const named = query.parameters.length > 0 && parametersNamed(query, METHOD_PARAMETER).length > 0
  return named || rawQuery.includes('_method') ? '_method query parameter' : undefined
}

const MANY = Symbol('several Content-Type headers')

/** `application/json` and structured `+json` types (RFC 6839). */
function isJsonType (type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

function pathOnly (url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
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

function guessFamily (path: string): ApiFamily {
  return /cloudsnapshots/i.test(path) ? 'evs' : 'cinder'
}

function truncate (path: string): string {
  return path.length > 512 ? `${path.slice(0, 512)}…` : path
}
