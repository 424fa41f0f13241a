// The Fastify adapter: one global onRequest hook over the shared authorizer. It only reads the
// request, asks core for a decision, logs it, and answers denials; all judgement lives in core.
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import {
  DECISION_MESSAGE, ConfigurationError, createAuthorizer, decisionLogFields, decisionLogLevel, denialResponse,
  type AuthorizerOptions, type Decision, type Mode
} from './core/index.js'

/** Options of the Fastify plugin. */
export interface EvsAuthzOptions extends AuthorizerOptions {
  /** Reads the caller's decoded claims (default: `request.user`, as set by @fastify/jwt). Sync or async. */
  readonly grants?: (request: FastifyRequest) => unknown
  /** `'enforce'` (default) blocks denials; `'audit'` logs them and lets every request through. */
  readonly mode?: Mode
  /** Called once per decision (after logging); errors it throws are logged and ignored. */
  readonly onDecision?: (decision: Decision, request: FastifyRequest) => void
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The evs-authz decision for this request; `null` outside the guarded API space. */
    evsAuthz: Decision | null
  }
}

const defaultGrants = (request: FastifyRequest): unknown => (request as FastifyRequest & { user?: unknown }).user

const plugin: FastifyPluginCallback<EvsAuthzOptions> = (fastify: FastifyInstance, options, done) => {
  const mode = options.mode ?? 'enforce'
  const grants = options.grants ?? defaultGrants
  const onDecision = options.onDecision
  const problems = []
  if (mode !== 'enforce' && mode !== 'audit') problems.push({ at: 'mode', message: `should be 'enforce' or 'audit', instead got ${JSON.stringify(mode)}` })
  if (typeof grants !== 'function') problems.push({ at: 'grants', message: 'should be a function (request) => claims' })
  if (onDecision !== undefined && typeof onDecision !== 'function') problems.push({ at: 'onDecision', message: 'should be a function (decision, request) => void' })
  if (problems.length > 0) throw new ConfigurationError('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options', problems)
  const authorizer = createAuthorizer(options)

  function settle (decision: Decision, request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    request.evsAuthz = decision
    request.log[decisionLogLevel(decision)](decisionLogFields(decision, mode, String(request.id)), DECISION_MESSAGE)
    if (onDecision !== undefined) {
      try {
        onDecision(decision, request)
      } catch (error) {
        request.log.error({ err: error }, 'evs-authz onDecision hook threw; decision unchanged')
      }
    }
    if (decision.allowed || mode === 'audit') {
      next()
      return
    }
    const response = denialResponse(decision)
    reply.code(response.status).headers(response.headers).send(response.body)
  }

  fastify.decorateRequest('evsAuthz', null)
  fastify.addHook('onRequest', function evsAuthzOnRequest (request, reply, next) {
    const inspection = authorizer.inspect(request)
    if (inspection.kind === 'outside') {
      next()
      return
    }
    if (inspection.kind === 'decided') {
      settle(inspection.decision, request, reply, next)
      return
    }
    const decideSafely = (claims: unknown): Decision => {
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
      settle(authorizer.fail(inspection, error), request, reply, next)
      return
    }
    if (isThenable(claims)) {
      claims.then(
        (resolved) => settle(decideSafely(resolved), request, reply, next),
        (error: unknown) => settle(authorizer.fail(inspection, error), request, reply, next)
      )
      return
    }
    settle(decideSafely(claims), request, reply, next)
  })
  done()
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** The evs-authz Fastify plugin: `app.register(evsAuthz, options)`. */
export const evsAuthz = fp(plugin, { fastify: '5.x', name: 'evs-authz' })
export default evsAuthz
