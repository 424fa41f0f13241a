// What both adapters do per request, apart from reading the request and writing the answer: read the
// grants only when needed, decide (failing closed), resolve enterprise projects when an EP-scoped grant
// is in play, log one line, tell onDecision.
import {
  DECISION_MESSAGE, ProblemList, checkAuthorizerOptions, createAuthorizer, decisionLogFields, decisionLogLevel,
  isEnterpriseProjectQuestion,
  type AuthorizerOptions, type BodyProblem, type Decision, type DenialResponse, type DenyDecision, type EnterpriseProjectQuestion,
  type Mode, type RequestTarget
} from './core/index.js'
import { createEnterpriseProjectLookup, type EnterpriseProjectCacheOptions, type ResolveEnterpriseProject } from './enterprise-resolution.js'
import { answerFor, answeredStatus, identityDenial, isIdentityRejection } from './identity/rejection.js'

/** Options both adapters share on top of the authorizer's. */
export interface AdapterOptions<R> extends AuthorizerOptions {
  /** Reads the caller's decoded claims. Sync or async; `null`/`undefined` mean "no token". */
  readonly grants?: (request: R) => unknown
  /** `'enforce'` (default) answers denials; `'audit'` logs them and lets every request through. */
  readonly mode?: Mode
  /** Called once per decision, after logging; what it throws is logged and ignored. */
  readonly onDecision?: (decision: Decision, request: R) => void
  /** Looks up the enterprise project of a snapshot or volume (for EP-scoped grants). */
  readonly resolveEnterpriseProject?: ResolveEnterpriseProject<R>
  /** Cache of resolved enterprise projects (default: `{ ttl: 60000, max: 10000 }`). */
  readonly enterpriseProjectCache?: EnterpriseProjectCacheOptions
  /** Milliseconds a lookup may take before the request is denied (default: 2000). */
  readonly resolverTimeout?: number
  /** Largest JSON body read for EP decisions, in bytes (default: 65536). */
  readonly bodyLimit?: number
}

/** The minimum of a pino logger the flow needs. */
export interface DecisionLogger {
  debug (fields: object, message: string): void
  info (fields: object, message: string): void
  error (fields: object, message: string): void
}

/** One request as the flow sees it; the adapter supplies how to record and finish. */
export interface FlowContext<R> {
  readonly request: R
  readonly log: DecisionLogger
  readonly requestId: string | undefined
  /** Receives the decision first (before onDecision sees it). */
  readonly attach: (decision: Decision) => void
  /** Receives the decision (undefined outside the guarded space) and whether to block. */
  readonly finish: (decision: Decision | undefined, block: boolean) => void
}

export interface DecisionFlow<R> {
  /** Starts a request; `needBody` is called instead of `finish` when the decision needs the JSON body. */
  start (context: FlowContext<R>, target: RequestTarget, needBody: (question: EnterpriseProjectQuestion) => void): void
  /** Continues a request that needed its body (parsed JSON, or the reason it could not be read). */
  resume (context: FlowContext<R>, question: EnterpriseProjectQuestion, body: unknown): void
  readonly bodyLimit: number
}

/** Validates the adapter options (all problems at once) and compiles the authorizer. */
export function createDecisionFlow<R> (options: AdapterOptions<R>, defaultGrants: (request: R) => unknown): DecisionFlow<R> {
  const mode = options.mode ?? 'enforce'
  const grants = options.grants ?? defaultGrants
  const onDecision = options.onDecision
  const bodyLimit = options.bodyLimit ?? 65_536
  const timeout = options.resolverTimeout ?? 2000
  const problems = new ProblemList()
  if (mode !== 'enforce' && mode !== 'audit') problems.add('mode', `should be 'enforce' or 'audit', instead got ${JSON.stringify(mode)}`)
  if (typeof grants !== 'function') problems.add('grants', 'should be a function (request) => claims')
  if (onDecision !== undefined && typeof onDecision !== 'function') problems.add('onDecision', 'should be a function (decision, request) => void')
  if (options.resolveEnterpriseProject !== undefined && typeof options.resolveEnterpriseProject !== 'function') {
    problems.add('resolveEnterpriseProject', 'should be a function ({ kind, id, projectId, request }) => enterprise project id')
  }
  for (const [at, value] of [['bodyLimit', bodyLimit], ['resolverTimeout', timeout], ['enterpriseProjectCache.ttl', options.enterpriseProjectCache?.ttl ?? 1], ['enterpriseProjectCache.max', options.enterpriseProjectCache?.max ?? 1]] as const) {
    if (!Number.isInteger(value) || value <= 0) problems.add(at, `should be a positive integer, instead got ${JSON.stringify(value)}`)
  }
  checkAuthorizerOptions(options, problems)
  problems.throwIfAny('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options')
  const authorizer = createAuthorizer(options)
  const lookup = createEnterpriseProjectLookup<R>({ resolve: options.resolveEnterpriseProject, cache: options.enterpriseProjectCache ?? {}, timeout })

  function settle (context: FlowContext<R>, decision: Decision): void {
    context.attach(decision)
    const fields = decisionLogFields(decision, mode, context.requestId)
    // An identity rejection is answered with its own status (503 for Keystone down): log that one.
    const status = decision.allowed ? undefined : answeredStatus(decision)
    context.log[decisionLogLevel(decision)](status === fields.status ? fields : { ...fields, status }, DECISION_MESSAGE)
    if (onDecision !== undefined) {
      try {
        onDecision(decision, context.request)
      } catch (error) {
        context.log.error({ err: error }, 'evs-authz onDecision threw; the decision stands')
      }
    }
    context.finish(decision, !decision.allowed && mode === 'enforce')
  }

  function resume (context: FlowContext<R>, question: EnterpriseProjectQuestion, body: unknown): void {
    const targets = authorizer.enterpriseTargets(question, body)
    if (!('ok' in targets)) {
      settle(context, targets)
      return
    }
    const projectId = question.params['project_id'] ?? question.grant.projectId ?? ''
    lookup(targets.lookups, projectId, context.request).then(
      (resolutions) => settle(context, authorizer.answer(question, targets, resolutions)),
      /* c8 ignore next: lookup() reports failures as resolutions and does not reject */
      () => settle(context, authorizer.answer(question, targets, targets.lookups.map((l) => ({ lookup: l, outcome: 'failed', detail: 'lookup failed' }))))
    )
  }

  function start (context: FlowContext<R>, target: RequestTarget, needBody: (question: EnterpriseProjectQuestion) => void): void {
    const inspection = authorizer.inspect(target)
    if (inspection.kind === 'outside') {
      context.finish(undefined, false)
      return
    }
    if (inspection.kind === 'decided') {
      settle(context, inspection.decision)
      return
    }
    // A grants() that throws an IdentityRejection gets its 401 / 403 / 503; anything else fails closed (500).
    const failed = (error: unknown): DenyDecision => isIdentityRejection(error) ? identityDenial(inspection, error) : authorizer.fail(inspection, error)
    const proceed = (claims: unknown): void => {
      let result: Decision | EnterpriseProjectQuestion
      try {
        result = authorizer.decide(inspection, claims)
      } catch (error) {
        result = authorizer.fail(inspection, error)
      }
      if (!isEnterpriseProjectQuestion(result)) settle(context, result)
      else if (result.needsBody) needBody(result)
      else resume(context, result, undefined)
    }
    let claims: unknown
    try {
      claims = grants(context.request)
    } catch (error) {
      settle(context, failed(error))
      return
    }
    if (isThenable(claims)) {
      claims.then(proceed, (error: unknown) => settle(context, failed(error)))
      return
    }
    proceed(claims)
  }

  return { start, resume, bodyLimit }
}

/**
 * The answer to a denial, with the request id in the headers OpenStack clients show
 * (`x-compute-request-id` is what cinderclient prints as "Request-ID"), matching the decision line.
 */
export function denialWithRequestId (decision: DenyDecision, requestId: string | undefined): DenialResponse {
  const response = answerFor(decision)
  if (requestId === undefined) return response
  return { ...response, headers: { ...response.headers, 'x-openstack-request-id': requestId, 'x-compute-request-id': requestId } }
}

/** Parses a JSON body buffer, or says why it cannot be used. */
export function parseJsonBody (buffer: Buffer | undefined, limit: number): unknown {
  if (buffer === undefined) return { bodyProblem: `the JSON body exceeds ${limit} bytes` } satisfies BodyProblem
  if (buffer.length === 0) return { bodyProblem: 'the JSON body is missing' } satisfies BodyProblem
  try {
    return JSON.parse(buffer.toString('utf8'))
  } catch {
    return { bodyProblem: 'the body is not valid JSON' } satisfies BodyProblem
  }
}

/** A body read up to a limit: the bytes (undefined past the limit) and the whole body again, to hand on. */
export interface LimitedBody {
  readonly buffer: Buffer | undefined
  /** Every byte of the body: what was read, then whatever was left unread. */
  readonly replay: AsyncIterable<Buffer>
}

/** Reads a stream up to `limit` bytes without losing the rest: past the limit it stops and keeps its place. */
export async function readLimited (stream: AsyncIterable<unknown>, limit: number): Promise<LimitedBody> {
  const chunks: Buffer[] = []
  const iterator = stream[Symbol.asyncIterator]()
  let length = 0
  let exhausted = false
  while (length <= limit) {
    const next = await iterator.next()
    if (next.done === true) {
      exhausted = true
      break
    }
    const bytes = Buffer.isBuffer(next.value) ? next.value : Buffer.from(String(next.value))
    chunks.push(bytes)
    length += bytes.length
  }
  async function * replay (): AsyncIterable<Buffer> {
    yield * chunks
    if (exhausted) return
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(String(next.value))
    }
  }
  return { buffer: exhausted ? Buffer.concat(chunks) : undefined, replay: replay() }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
