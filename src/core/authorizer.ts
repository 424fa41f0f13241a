// The pipeline, composed: read the request (request/) → find its row (routing/) → judge the caller's grants
// (iam/) → answer enterprise-project questions (enterprise/) → a Decision (decision/). Each stage is compiled
// here once; per request only its step functions run. The synchronous authorize() below and the adapters'
// asynchronous flow (src/adapter-flow.ts) call the same steps. docs/architecture.md draws the pipeline.
import { allowDecision, type Decision, type DenyDecision } from './decision/decision.js'
import { compileEnterpriseStage } from './enterprise/answer.js'
import type { BodyReading, EnterpriseProjectQuestion, EnterpriseProjectResolution, ReadyTargets } from './enterprise/enterprise.js'
import { compileCatalogue } from './iam/catalogue.js'
import { compileJudge } from './iam/judge.js'
import { compileCrossProjectRule } from './request/cross-project.js'
import { DEFAULT_VERSIONS, compilePathGate } from './request/path-gate.js'
import { compileRequestReader, guessFamily, type RequestTarget } from './request/read-request.js'
import { compileMatcher } from './routing/matcher.js'
import { compileRouting, type PassUnmatched, type PendingRequest } from './routing/route-request.js'
import { compileTargetReader } from './routing/target-reader.js'
import { loadRouteTable, type CompiledRoute } from './routing/route-table.js'
import { checkAuthorizerOptions, type AuthorizerOptions } from './support/authorizer-options.js'
import { ProblemList } from './support/errors.js'
import { snapshotRoutes } from '../routes/snapshots.js'

export type { AuthorizerOptions } from './support/authorizer-options.js'
export type { RequestTarget } from './request/read-request.js'
export type { PendingRequest } from './routing/route-request.js'

/** The claims-independent half of a decision: outside the guarded space, decided already, or pending. */
export type Inspection = { readonly kind: 'outside' } | Decision | PendingRequest

export interface Authorizer {
  /** Reads and routes the request; no claims needed. `outside` targets are not ours to judge. */
  inspect (request: RequestTarget): Inspection
  /**
   * Completes a pending inspection with the caller's decoded claims (null/undefined: no token). Never throws
   * (an evaluation error is a `grants-error` denial, also handed to `onError`). On an EP-capable row where only
   * enterprise-project grants could allow, returns the question of which EPs the request touches: answer it
   * with enterpriseTargets (query, body) and answer (looked-up EPs).
   */
  decide (inspection: PendingRequest, claims: unknown, onError?: (error: unknown) => void): Decision | EnterpriseProjectQuestion
  /** The EPs a question's request names and the lookups to do (or a denial: malformed body, EP required). */
  enterpriseTargets (question: EnterpriseProjectQuestion, body: BodyReading | undefined): ReadyTargets | DenyDecision
  /** The decision once every lookup is resolved. */
  answer (question: EnterpriseProjectQuestion, targets: ReadyTargets, resolutions: readonly EnterpriseProjectResolution[]): Decision
  /** Completes a pending inspection when reading the grants failed: fail closed. */
  fail (inspection: PendingRequest, error: unknown): DenyDecision
  /**
   * inspect + decide, synchronously; requests outside the guarded space get an allow with reason `not-guarded`
   * (adapters neither log nor decorate those). EP questions are answered when the query names the EPs; those
   * needing a body or a lookup are denied (`enterprise-project-unresolved`): the adapters do those.
   */
  authorize (request: RequestTarget, claims: unknown): Decision
  readonly routes: readonly CompiledRoute[]
}

/** Validates options (throws EVS_AUTHZ_ERR_OPTIONS / _ROUTE_TABLE / _POLICY listing every problem) and compiles. */
export function createAuthorizer (options: AuthorizerOptions = {}): Authorizer {
  const problems = new ProblemList()
  checkAuthorizerOptions(options, problems)
  problems.throwIfAny('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options')
  const projectIdPattern = options.projectIdPattern
  const routes = loadRouteTable(options.routes ?? snapshotRoutes, projectIdPattern === undefined ? {} : { projectIdPattern })
  const now = options.now ?? Date.now
  const guardCrossProject = compileCrossProjectRule(options.crossProjectQuery ?? 'strip', now)
  // The guarded space: v2, v3 and the first segment of every template, so custom rows are never bypassed.
  const versions = [...DEFAULT_VERSIONS, ...routes.flatMap((r) => (r.segments[0]?.kind === 'static' ? [r.segments[0].value] : []))]
  const prefix = options.prefix ?? ''
  const matcher = compileMatcher(routes)
  const gate = compilePathGate(prefix, versions)
  const passUnmatched: PassUnmatched = (method, path, url, query) => {
    const allow = allowDecision('unmatched-pass', method, path, undefined, undefined)
    return guardCrossProject(allow, url, query, undefined, guessFamily(path))
  }
  const routeRequest = compileRouting(matcher, options.unmatched ?? 'deny', passUnmatched)
  // Read the request, then route it. The fast path (routing/target-reader.ts) validates and matches a plainly
  // canonical target in one scan; every other target is read by the gate and looked up by the tree walk.
  const inspect: (request: RequestTarget) => Inspection =
    compileRequestReader(gate, prefix.length, compileTargetReader(gate, matcher, prefix.length), routeRequest)
  const judge = compileJudge(compileCatalogue(options.policies), now, guardCrossProject)
  const enterprise = compileEnterpriseStage(now, guardCrossProject)

  function authorize (request: RequestTarget, claims: unknown): Decision {
    const inspection = inspect(request)
    if (inspection.kind === 'outside') return allowDecision('not-guarded', request.method, pathOnly(request.url), undefined, undefined)
    if (inspection.kind !== 'pending') return inspection
    const result = judge.decide(inspection, claims)
    if (result.kind !== 'enterprise-project') return result
    // No I/O here: a question that needs the body or a lookup is the adapters' to answer.
    const unresolved = (detail: string): Decision => enterprise.refuse(result, 'enterprise-project-unresolved', { detail })
    if (result.needsBody) return unresolved('needs the request body and an enterprise-project resolver')
    const targets = enterprise.targets(result, undefined)
    if (targets.kind === 'deny') return targets
    if (targets.lookups.length > 0) return unresolved('needs an enterprise-project resolver')
    return enterprise.answer(result, targets, [])
  }

  return {
    inspect,
    decide: judge.decide,
    fail: judge.fail,
    enterpriseTargets: enterprise.targets,
    answer: enterprise.answer,
    authorize,
    routes
  }
}

function pathOnly (url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}
