// The Fastify adapter: a global onRequest hook over the shared decision flow, plus a preParsing hook that reads the
// JSON body only for the EP-scoped decisions that need it (create, rollback) and hands the same bytes on. Both hooks
// are added to the same scope, so every route that has the first has the second: a request left waiting for its
// body reaches no handler before the preParsing hook has decided. It only reads the request and writes the answer;
// all judgement lives in core.
import { Readable } from 'node:stream'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  createDecisionFlow, denialWithRequestId, judgedHeaders, parseJsonBody, readLimited, type AdapterOptions, type DecisionFlow,
  type FlowHost
} from './adapter-flow.js'
import { ConfigurationError, isRecord, withoutCrossProjectKeys, type Decision, type EnterpriseProjectQuestion } from './core/index.js'
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

/** One request in one hook: what the flow hands back to the host below. */
interface HookContext {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** preParsing: the body stream Fastify parses next (the replay of the bytes read, once an EP decision read them). */
  payload: RequestPayload | undefined
  /** The hook's callback: onRequest's takes the error only, preParsing's the error and the payload. */
  readonly done: (error: Error | undefined, payload?: RequestPayload) => void
}

/**
 * Where a request's decision is kept. `request.evsAuthz` is a getter on Fastify's Request prototype that reads it:
 * a decorator with a value (`decorateRequest('evsAuthz', null)`) is one more field Fastify's Request constructor
 * writes on every request, and with it a gateway spent about 8% more CPU per request (`npm run bench`, section 3b).
 */
const DECISION = Symbol('evs-authz decision')

/** A request that may carry its decision (a FastifyRequest is one: the field is optional). */
type DecidedRequest = FastifyRequest & { [DECISION]?: Decision | undefined }

/** A question waiting for the body, between onRequest and preParsing. */
const awaitingBody = new WeakMap<FastifyRequest, EnterpriseProjectQuestion>()

type RequestPayload = FastifyRequest['raw'] | Readable

function answer (context: HookContext, decision: Decision | undefined, block: boolean, forwardUrl: string | undefined): void {
  const { request, reply } = context
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
  context.done(undefined, context.payload)
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
  const host: FlowHost<FastifyRequest, HookContext> = {
    request: (context) => context.request,
    log: (context) => context.request.log,
    requestId: (context) => String(context.request.id),
    url: (context) => context.request.url,
    attach: (context, decision) => {
      const request: DecidedRequest = context.request
      request[DECISION] = decision
    },
    finish: answer,
    needBody (context, question) {
      // Decided in preParsing, once the body can be read (and handed on).
      awaitingBody.set(context.request, question)
      context.done(undefined)
    }
  }
  let decisions: DecisionFlow<HookContext>
  try {
    decisions = createDecisionFlow(options.prefix === undefined ? { ...options, prefix: fastify.prefix } : options, userOf, host)
    checkScopePrefix(options.prefix, fastify.prefix)
  } catch (error) {
    // Configuration errors reject app.ready() / register() instead of escaping the plugin loader.
    done(asError(error))
    return
  }
  fastify.decorateRequest('evsAuthz', {
    getter (this: DecidedRequest) { return this[DECISION] ?? null },
    setter (this: DecidedRequest, decision: Decision | null) { this[DECISION] = decision ?? undefined }
  })
  fastify.addHook('onRequest', function evsAuthzOnRequest (request, reply, next) {
    const target = { method: request.method, url: request.url, headers: judgedHeaders(request.headers, request.raw.rawHeaders) }
    decisions.start({ request, reply, payload: undefined, done: next }, target)
  })
  fastify.addHook('preParsing', function evsAuthzReadBody (request, reply, payload, next) {
    const question = awaitingBody.get(request)
    if (question === undefined) {
      next(null, payload)
      return
    }
    awaitingBody.delete(request)
    const context: HookContext = { request, reply, payload, done: next }
    readLimited(payload, decisions.bodyLimit).then(({ buffer, replay }) => {
      // Hand the exact bytes on (all of them, even past the limit in audit mode), so body parsers
      // and proxies see what was authorized.
      context.payload = Readable.from(replay)
      decisions.resume(context, question, parseJsonBody(buffer, decisions.bodyLimit))
    }, (error: unknown) => { next(asError(error)) })
  })
  done()
}

/** The evs-authz Fastify plugin: `app.register(evsAuthz, options)`. */
export const evsAuthz = fp(plugin, { fastify: '5.x', name: 'evs-authz' })
export default evsAuthz
