// What both adapters do per request, apart from reading the request and writing the answer: read the
// grants only when needed, decide (failing closed), resolve enterprise projects when an EP-scoped grant
// is in play, log one line, tell onDecision.
import {
  DECISION_MESSAGE, ProblemList, checkAuthorizerOptions, createAuthorizer, decisionLogFields, decisionLogLevel,
  withCredentialsDetail, withoutCrossProjectParams,
  type AuthorizerOptions, type BodyReading, type Decision, type DenialResponse, type DenyDecision, type EnterpriseProjectQuestion,
  type Mode, type PendingRequest, type RequestTarget
} from './core/index.js'
import type { IncomingHttpHeaders } from 'node:http'
import {
  createEnterpriseProjectLookup, type EnterpriseProjectCacheOptions, type ResolveEnterpriseProject
} from './enterprise-resolution.js'
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
  /** pino's: when present and false for a level, the line is not built at all. */
  isLevelEnabled? (level: string): boolean
}

/**
 * What an adapter supplies once: how to read and finish one request, given its context `C` (one object the
 * adapter makes per request). The flow keeps no per-request closures of its own on the synchronous path.
 */
export interface FlowHost<R, C> {
  readonly request: (context: C) => R
  readonly log: (context: C) => DecisionLogger
  readonly requestId: (context: C) => string | undefined
  /** The request target that is judged (and forwarded). */
  readonly url: (context: C) => string
  /** Receives the decision first (before onDecision sees it). */
  readonly attach: (context: C, decision: Decision) => void
  /**
   * Receives the decision (undefined outside the guarded space), whether to block, and the URL to forward
   * instead of the received one (cross-project parameters removed; also in audit mode, where it blocks nothing).
   */
  readonly finish: (context: C, decision: Decision | undefined, block: boolean, forwardUrl: string | undefined) => void
  /** Called instead of finish when the decision needs the JSON body: read it, then call resume(). */
  readonly needBody: (context: C, question: EnterpriseProjectQuestion) => void
}

export interface DecisionFlow<C> {
  /** Judges a request. */
  start (context: C, target: RequestTarget): void
  /** Continues a request that needed its body (parsed JSON, or the reason it could not be read). */
  resume (context: C, question: EnterpriseProjectQuestion, body: BodyReading | undefined): void
  /** True when the target lies outside the guarded API space (not judged). */
  outside (url: string): boolean
  readonly bodyLimit: number
}

/** The largest JSON body read for EP decisions unless `bodyLimit` says otherwise. */
export const DEFAULT_BODY_LIMIT = 65_536

/** Validates the adapter options (all problems at once) and compiles the authorizer. */
export function createDecisionFlow<R, C> (
  options: AdapterOptions<R>, defaultGrants: (request: R) => unknown, host: FlowHost<R, C>
): DecisionFlow<C> {
  const mode = options.mode ?? 'enforce'
  const grants = options.grants ?? defaultGrants
  const onDecision = options.onDecision
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const timeout = options.resolverTimeout ?? 2000
  const problems = new ProblemList()
  if (mode !== 'enforce' && mode !== 'audit') problems.add('mode', `should be 'enforce' or 'audit', instead got ${JSON.stringify(mode)}`)
  if (typeof grants !== 'function') problems.add('grants', 'should be a function (request) => claims')
  if (onDecision !== undefined && typeof onDecision !== 'function') {
    problems.add('onDecision', 'should be a function (decision, request) => void')
  }
  if (options.resolveEnterpriseProject !== undefined && typeof options.resolveEnterpriseProject !== 'function') {
    problems.add('resolveEnterpriseProject', 'should be a function ({ kind, id, projectId, request }) => enterprise project id')
  }
  const cache = options.enterpriseProjectCache
  const positive = [
    ['bodyLimit', bodyLimit], ['resolverTimeout', timeout],
    ['enterpriseProjectCache.ttl', cache?.ttl ?? 1], ['enterpriseProjectCache.max', cache?.max ?? 1]
  ] as const
  for (const [at, value] of positive) {
    if (!Number.isInteger(value) || value <= 0) problems.add(at, `should be a positive integer, instead got ${JSON.stringify(value)}`)
  }
  checkAuthorizerOptions(options, problems)
  problems.throwIfAny('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options')
  const authorizer = createAuthorizer(options)
  const lookup = createEnterpriseProjectLookup<R>({ resolve: options.resolveEnterpriseProject, cache: cache ?? {}, timeout })

  function settle (context: C, decision: Decision, error?: { err: unknown }): void {
    host.attach(context, decision)
    const log = host.log(context)
    const level = decisionLogLevel(decision)
    // A disabled level (allows log at debug) costs no fields object: the common allow builds nothing here.
    if (log.isLevelEnabled?.(level) !== false) {
      const fields = decisionLogFields(decision, mode, host.requestId(context))
      // An identity rejection is answered with its own status (503 for Keystone down): log that one; a failing
      // grants() is logged with the error itself (pino serializes `err`), next to the decision.
      const status = decision.kind === 'allow' ? undefined : answeredStatus(decision)
      const line = status === fields.status ? fields : { ...fields, status }
      log[level](error === undefined ? line : { ...line, ...error }, DECISION_MESSAGE)
    }
    if (onDecision !== undefined) {
      try {
        onDecision(decision, host.request(context))
      } catch (error) {
        log.error({ err: error }, 'evs-authz onDecision threw; the decision stands')
      }
    }
    const block = decision.kind === 'deny' && mode === 'enforce'
    // Stripping blocks nothing, so audit mode strips too (a denial it lets through has not been judged safe).
    const forwardUrl = decision.kind === 'allow' ? decision.forwardUrl : block ? undefined : withoutCrossProjectParams(host.url(context))
    host.finish(context, decision, block, forwardUrl)
  }

  function resume (context: C, question: EnterpriseProjectQuestion, body: BodyReading | undefined): void {
    const targets = authorizer.enterpriseTargets(question, body)
    if (targets.kind === 'deny') {
      settle(context, targets)
      return
    }
    const projectId = question.projectId ?? question.grant.projectId ?? ''
    lookup(targets.lookups, projectId, host.request(context)).then(
      (resolutions) => settle(context, authorizer.answer(question, targets, resolutions)),
      /* c8 ignore start: lookup() reports failures as resolutions and does not reject */
      () => {
        const failures = targets.lookups.map((lookup) => ({ kind: 'failed' as const, lookup, detail: 'lookup failed' }))
        settle(context, authorizer.answer(question, targets, failures))
      }
      /* c8 ignore stop */
    )
  }

  // What decide() caught, for the log line: set by decide (synchronously) and read right after, so one slot serves
  // every request without a closure per call.
  let caught: { err: unknown } | undefined
  const catchError = (error: unknown): void => { caught = { err: error } }

  /** The decision once the claims are known (synchronously, or when grants() resolves). */
  function proceed (context: C, inspection: PendingRequest, headers: RequestTarget['headers'], claims: unknown): void {
    caught = undefined
    const result = authorizer.decide(inspection, claims, catchError)
    const thrown = caught
    caught = undefined
    if (result.kind !== 'enterprise-project') settle(context, withCredentialsDetail(result, headers), thrown)
    else if (result.needsBody) host.needBody(context, result)
    else resume(context, result, undefined)
  }

  // A grants() that throws an IdentityRejection gets its 401 / 403 / 503; anything else fails closed (500).
  function failed (context: C, inspection: PendingRequest, error: unknown): void {
    const decision = isIdentityRejection(error) ? identityDenial(inspection, error) : authorizer.fail(inspection, error)
    settle(context, decision, errorField(error))
  }

  function start (context: C, target: RequestTarget): void {
    const inspection = authorizer.inspect(target)
    if (inspection.kind === 'outside') {
      host.finish(context, undefined, false, undefined)
      return
    }
    if (inspection.kind !== 'pending') {
      settle(context, inspection)
      return
    }
    let claims: unknown
    try {
      claims = grants(host.request(context))
    } catch (error) {
      failed(context, inspection, error)
      return
    }
    if (isThenable(claims)) {
      claims.then((value) => proceed(context, inspection, target.headers, value), (error: unknown) => failed(context, inspection, error))
      return
    }
    proceed(context, inspection, target.headers, claims)
  }

  const outside = (url: string): boolean => authorizer.inspect({ method: 'GET', url }).kind === 'outside'
  return { start, resume, outside, bodyLimit }
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
export function parseJsonBody (buffer: Buffer | undefined, limit: number): BodyReading {
  if (buffer === undefined) return { kind: 'problem', problem: `the JSON body exceeds ${limit} bytes` }
  if (buffer.length === 0) return { kind: 'problem', problem: 'the JSON body is missing' }
  try {
    return { kind: 'json', value: JSON.parse(buffer.toString('utf8')) }
  } catch {
    return { kind: 'problem', problem: 'the body is not valid JSON' }
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

/** The `err` field for an unexpected grants() failure; an identity rejection (a refused token) is an answer, not an error. */
function errorField (error: unknown): { err: unknown } | undefined {
  return isIdentityRejection(error) ? undefined : { err: error }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && 'then' in value && typeof value.then === 'function'
}

/**
 * The headers to judge: Node's parsed headers, except that several Content-Type headers (Node keeps the
 * first, a WSGI server the last) are all passed on, so the core can refuse the ambiguity.
 */
export function judgedHeaders (headers: IncomingHttpHeaders, rawHeaders: readonly string[]): NonNullable<RequestTarget['headers']> {
  if (headers['content-type'] === undefined) return headers
  const all: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? ''
    if (name.length === 12 && name.toLowerCase() === 'content-type') all.push(rawHeaders[i + 1] ?? '')
  }
  return all.length > 1 ? { ...headers, 'content-type': all } : headers
}
