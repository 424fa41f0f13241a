// The Fastify adapter: one global onRequest hook over the shared decision flow. It only reads the
// request and writes the answer; all judgement lives in core.
import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createDecisionFlow, type AdapterOptions } from './adapter-flow.js'
import { denialResponse, type Decision } from './core/index.js'

/** Options of the Fastify plugin (see README "Options"). */
export interface EvsAuthzOptions extends AdapterOptions<FastifyRequest> {}

declare module 'fastify' {
  interface FastifyRequest {
    /** The evs-authz decision for this request; `null` outside the guarded API space. */
    evsAuthz: Decision | null
  }
}

/** Default grants: `request.user`, as set by @fastify/jwt and most auth plugins. */
const userOf = (request: FastifyRequest): unknown => (request as FastifyRequest & { user?: unknown }).user

const plugin: FastifyPluginCallback<EvsAuthzOptions> = (fastify, options, done) => {
  let flow: ReturnType<typeof createDecisionFlow<FastifyRequest>>
  try {
    flow = createDecisionFlow(options, userOf)
  } catch (error) {
    // Configuration errors reject app.ready() / register() instead of escaping the plugin loader.
    done(error as Error)
    return
  }
  fastify.decorateRequest('evsAuthz', null)
  fastify.addHook('onRequest', function evsAuthzOnRequest (request, reply, next) {
    const attach = (decision: Decision): void => { request.evsAuthz = decision }
    flow(request, request, request.log, String(request.id), attach, (decision, block) => {
      if (decision === undefined || decision.allowed || !block) {
        next()
        return
      }
      const response = denialResponse(decision)
      reply.code(response.status).headers(response.headers).send(response.body)
    })
  })
  done()
}

/** The evs-authz Fastify plugin: `app.register(evsAuthz, options)`. */
export const evsAuthz = fp(plugin, { fastify: '5.x', name: 'evs-authz' })
export default evsAuthz
