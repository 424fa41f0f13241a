// What both adapters do per request, apart from reading the request and writing the answer:
// read the grants only when needed, decide (failing closed), log one line, tell onDecision.
import {
  DECISION_MESSAGE, ProblemList, checkAuthorizerOptions, createAuthorizer, decisionLogFields, decisionLogLevel,
  type AuthorizerOptions, type Decision, type Mode, type RequestTarget
} from './core/index.js'

/** Options both adapters share on top of the authorizer's. */
export interface AdapterOptions<R> extends AuthorizerOptions {
  /** Reads the caller's decoded claims. Sync or async; `null`/`undefined` mean "no token". */
  readonly grants?: (request: R) => unknown
  /** `'enforce'` (default) answers denials; `'audit'` logs them and lets every request through. */
  readonly mode?: Mode
  /** Called once per decision, after logging; what it throws is logged and ignored. */
  readonly onDecision?: (decision: Decision, request: R) => void
}

/** The minimum of a pino logger the flow needs. */
export interface DecisionLogger {
  debug (fields: object, message: string): void
  info (fields: object, message: string): void
  error (fields: object, message: string): void
}

/**
 * Runs one request. `attach` receives the decision first (before onDecision sees it), then `finish`
 * gets it (undefined outside the guarded space) with whether to block.
 */
export type DecisionFlow<R> = (
  request: R,
  target: RequestTarget,
  log: DecisionLogger,
  requestId: string | undefined,
  attach: (decision: Decision) => void,
  finish: (decision: Decision | undefined, block: boolean) => void
) => void

/** Validates the adapter options (all problems at once) and compiles the authorizer. */
export function createDecisionFlow<R> (options: AdapterOptions<R>, defaultGrants: (request: R) => unknown): DecisionFlow<R> {
  const mode = options.mode ?? 'enforce'
  const grants = options.grants ?? defaultGrants
  const onDecision = options.onDecision
  const problems = new ProblemList()
  if (mode !== 'enforce' && mode !== 'audit') problems.add('mode', `should be 'enforce' or 'audit', instead got ${JSON.stringify(mode)}`)
  if (typeof grants !== 'function') problems.add('grants', 'should be a function (request) => claims')
  if (onDecision !== undefined && typeof onDecision !== 'function') problems.add('onDecision', 'should be a function (decision, request) => void')
  checkAuthorizerOptions(options, problems)
  problems.throwIfAny('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options')
  const authorizer = createAuthorizer(options)

  return function runDecisionFlow (request, target, log, requestId, attach, finish) {
    const settle = (decision: Decision): void => {
      attach(decision)
      log[decisionLogLevel(decision)](decisionLogFields(decision, mode, requestId), DECISION_MESSAGE)
      if (onDecision !== undefined) {
        try {
          onDecision(decision, request)
        } catch (error) {
          log.error({ err: error }, 'evs-authz onDecision threw; the decision stands')
        }
      }
      finish(decision, !decision.allowed && mode === 'enforce')
    }
    const inspection = authorizer.inspect(target)
    if (inspection.kind === 'outside') {
      finish(undefined, false)
      return
    }
    if (inspection.kind === 'decided') {
      settle(inspection.decision)
      return
    }
    const decide = (claims: unknown): Decision => {
      try {
        return authorizer.decide(inspection, claims)
      } catch (error) {
        return authorizer.fail(inspection, error)
      }
    }
    let claims: unknown
    try {
      claims = grants(request)
    } catch (error) {
      settle(authorizer.fail(inspection, error))
      return
    }
    if (isThenable(claims)) {
      claims.then((resolved) => settle(decide(resolved)), (error: unknown) => settle(authorizer.fail(inspection, error)))
      return
    }
    settle(decide(claims))
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
