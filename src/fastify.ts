// The Fastify adapter: one global preParsing hook over the shared decision flow. It runs after every onRequest
// hook (so identity plugins have set the claims), decides, and for the EP-scoped decisions that need it (create,
// rollback) reads the JSON body and hands the same bytes on; the request reaches no handler before the hook
// calls back. It only reads the request and writes the answer; all judgement lives in core.
import { Readable } from 'node:stream'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  createDecisionFlow, denialWithRequestId, judgedHeaders, parseJsonBody, readLimited, type AdapterOptions, type DecisionFlow,
  type FlowHost
} from './adapter-flow.js'
import { ConfigurationError, isRecord, withoutCrossProjectKeys, type Decision } from './core/index.js'
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

/** One request in the hook: what the flow hands back to the host below. */
interface HookContext {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** The body stream Fastify parses next: the received one, or the replay of the bytes read for an EP decision. */
  payload: RequestPayload
  readonly done: (error: Error | null, payload?: RequestPayload) => void
}

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
  context.done(null, context.payload)
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
  let flow: DecisionFlow<HookContext> | undefined
  const host: FlowHost<FastifyRequest, HookContext> = {
    request: (context) => context.request,
    log: (context) => context.request.log,
    requestId: (context) => String(context.request.id),
    url: (context) => context.request.url,
    attach: (context, decision) => { context.request.evsAuthz = decision },
    finish: answer,
    needBody (context, question) {
      // The flow exists before any request reaches the hook.
      const limit = (flow as DecisionFlow<HookContext>).bodyLimit
      readLimited(context.payload, limit).then(({ buffer, replay }) => {
        // Hand the exact bytes on (all of them, even past the limit in audit mode), so body parsers
        // and proxies see what was authorized.
        context.payload = Readable.from(replay)
        flow?.resume(context, question, parseJsonBody(buffer, limit))
      }, (error: unknown) => { context.done(asError(error)) })
    }
  }
  try {
    flow = createDecisionFlow(options.prefix === undefined ? { ...options, prefix: fastify.prefix } : options, userOf, host)
    checkScopePrefix(options.prefix, fastify.prefix)
  } catch (error) {
    // Configuration errors reject app.ready() / register() instead of escaping the plugin loader.
    done(asError(error))
    return
  }
  const decisions = flow
  fastify.decorateRequest('evsAuthz', null)
  fastify.addHook('preParsing', function evsAuthzHook (request, reply, payload, next) {
    const target = { method: request.method, url: request.url, headers: judgedHeaders(request.headers, request.raw.rawHeaders) }
    decisions.start({ request, reply, payload, done: next }, target)
  })
  done()
}

/** The evs-authz Fastify plugin: `app.register(evsAuthz, options)`. */
export const evsAuthz = fp(plugin, { fastify: '5.x', name: 'evs-authz' })
export default evsAuthz
