// The Fastify adapter: a global onRequest hook over the shared decision flow, plus a preParsing hook
// that reads the JSON body only for the EP-scoped decisions that need it (create, rollback) and hands
// the same bytes on. It only reads the request and writes the answer; all judgement lives in core.
import { Readable } from 'node:stream'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  createDecisionFlow, denialWithRequestId, judgedHeaders, parseJsonBody, readLimited, type AdapterOptions, type DecisionFlow,
  type FlowContext
} from './adapter-flow.js'
import {
  ConfigurationError, DECISION_MESSAGE, decisionLogFields, denyDecision, isRecord, withoutCrossProjectKeys,
  type Decision, type EnterpriseProjectQuestion
} from './core/index.js'
import { asError } from './error-text.js'
import { checkFastifyRegistration } from './registration.js'

/** Options of the Fastify plugin (see README "Options"). */
export interface EvsAuthzOptions extends AdapterOptions<FastifyRequest> {}

declare module 'fastify' {
  interface FastifyRequest {
    /** The evs-authz decision for this request; `null` outside the guarded API space. */
    evsAuthz: Decision | null
  }
}

/** Default grants: `request.user`, as set by @fastify/jwt and most auth plugins. */
const userOf = (request: FastifyRequest): unknown => ('user' in request ? request.user : undefined)

/** A question waiting for the body, between onRequest and preParsing. */
const awaitingBody = new WeakMap<FastifyRequest, EnterpriseProjectQuestion>()

function answer (request: FastifyRequest, reply: FastifyReply, decision: Decision | undefined, block: boolean,
  forwardUrl: string | undefined, next: () => void): void {
  if (decision !== undefined && decision.kind === 'deny' && block) {
    const response = denialWithRequestId(decision, String(request.id))
    reply.code(response.status).headers(response.headers).send(response.body)
    return
  }
  if (forwardUrl !== undefined) {
    // The proxy forwards request.url (raw.url): a rewritten URL is what the backend receives; handlers in
    // this app read request.query, which was parsed before this hook ran.
    request.raw.url = forwardUrl
    if (isRecord(request.query)) request.query = withoutCrossProjectKeys(request.query)
  }
  next()
}

/**
 * The plugin judges under the `prefix` option, else under the prefix of the scope it is registered in: a
 * scope's hooks only ever see URLs below that prefix, so judging from '' would let every request through.
 * An explicit prefix outside the scope's could never match: refuse to start.
 */
function checkScopePrefix (option: unknown, scopePrefix: string): void {
  if (option === undefined || scopePrefix === '' || option === scopePrefix ||
    (typeof option === 'string' && option.startsWith(`${scopePrefix}/`))) return
  throw new ConfigurationError('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options', [{
    at: 'prefix',
    message: `the plugin is registered in a scope with prefix '${scopePrefix}', so it only sees URLs below it; ` +
      `use a prefix at or below it (or omit prefix), instead got ${JSON.stringify(option)}`
  }])
}

const plugin: FastifyPluginCallback<EvsAuthzOptions> = (fastify, options, done) => {
  const registrationError = checkFastifyRegistration(fastify)
  if (registrationError !== undefined) return done(registrationError)
  let flow: DecisionFlow<FastifyRequest>
  try {
    flow = createDecisionFlow(options.prefix === undefined ? { ...options, prefix: fastify.prefix } : options, userOf)
    checkScopePrefix(options.prefix, fastify.prefix)
  } catch (error) {
    // Configuration errors reject app.ready() / register() instead of escaping the plugin loader.
    done(asError(error))
    return
  }
  const context = (request: FastifyRequest, finish: FlowContext<FastifyRequest>['finish']): FlowContext<FastifyRequest> => ({
    request,
    log: request.log,
    requestId: String(request.id),
    url: request.url,
    attach: (decision) => { request.evsAuthz = decision },
    finish
  })

  fastify.decorateRequest('evsAuthz', null)
  fastify.addHook('onRequest', function evsAuthzOnRequest (request, reply, next) {
    const target = { method: request.method, url: request.url, headers: judgedHeaders(request.headers, request.raw.rawHeaders) }
    flow.start(context(request, (decision, block, forwardUrl) => answer(request, reply, decision, block, forwardUrl, () => next())),
      target, (question) => {
        awaitingBody.set(request, question)
        next()
      })
  })
  fastify.addHook('preParsing', function evsAuthzReadBody (request, reply, payload, next) {
    const question = awaitingBody.get(request)
    if (question === undefined) {
      next(null, payload)
      return
    }
    readLimited(payload, flow.bodyLimit).then(({ buffer, replay }) => {
      flow.resume(context(request, (decision, block, forwardUrl) => {
        awaitingBody.delete(request)
        // Hand the exact bytes on (all of them, even past the limit in audit mode), so body parsers
        // and proxies see what was authorized.
        answer(request, reply, decision, block, forwardUrl, () => next(null, Readable.from(replay)))
      }), question, parseJsonBody(buffer, flow.bodyLimit))
    }, (error: unknown) => next(asError(error)))
  })
  // Fail closed: a request whose EP decision never completed must not reach a handler.
  fastify.addHook('preHandler', function evsAuthzGuard (request, reply, next) {
    const question = awaitingBody.get(request)
    if (question === undefined) {
      next()
      return
    }
    awaitingBody.delete(request)
    const decision = denyDecision('enterprise-project-error', question.method, question.path, question.family,
      { detail: 'the request body was never read' })
    request.log.error(decisionLogFields(decision, 'enforce', String(request.id)), DECISION_MESSAGE)
    answer(request, reply, decision, true, undefined, next)
  })
  done()
}

/** The evs-authz Fastify plugin: `app.register(evsAuthz, options)`. */
export const evsAuthz = fp(plugin, { fastify: '5.x', name: 'evs-authz' })
export default evsAuthz
