// The demo EVS gateway: @fastify/jwt verifies the token from X-Auth-Token (as EVS clients send it),
// evs-authz authorizes, @fastify/http-proxy forwards the authorized path unchanged to the upstream.
import fastifyJwt from '@fastify/jwt'
import proxy from '@fastify/http-proxy'
import type { IncomingHttpHeaders } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import evsAuthz, { evsAuthzFrameworkErrors, stripIdentityHeaders, upstreamEnterpriseProjectResolver, type EvsAuthzOptions } from 'evs-authz'

export interface GatewayOptions {
  /** Where authorized requests go, e.g. `http://127.0.0.1:8776`. */
  readonly upstream: string
  /** HS256 key for the demo tokens. In production use a public key and pin algorithms, issuer and audience. */
  readonly secret: string
  readonly logger?: FastifyServerOptions['logger']
  /** A service token the gateway uses to look up enterprise projects upstream (enables EP-scoped grants). */
  readonly serviceToken?: string
  /** Extra evs-authz options (mode, unmatched, policies, onDecision, ...). */
  readonly authz?: EvsAuthzOptions
  /** Extra Fastify server options, e.g. `genReqId` (the logger is `logger` above). */
  readonly server?: Omit<FastifyServerOptions, 'logger' | 'loggerInstance'>
  /** Runs after evs-authz is registered and before the proxy: hooks added here run between the two. */
  readonly beforeProxy?: (app: FastifyInstance) => void | Promise<void>
  /** The headers sent upstream, after client-sent identity headers are removed (e.g. to add the backend's credentials). */
  readonly forwardHeaders?: (request: FastifyRequest, headers: IncomingHttpHeaders) => IncomingHttpHeaders
  /** The backend's response headers as the client gets them. */
  readonly responseHeaders?: (request: FastifyRequest, headers: IncomingHttpHeaders) => IncomingHttpHeaders
}

/**
 * @fastify/jwt reading the token from X-Auth-Token (as EVS clients send it), HS256 pinned, cache on.
 * A missing or bad token is left to evs-authz, which answers 401 in the API's envelope.
 */
export async function authenticateFromAuthToken (app: FastifyInstance, secret: string): Promise<void> {
  await app.register(fastifyJwt, {
    secret,
    verify: {
      algorithms: ['HS256'],
      cache: true,
      extractToken: (request) => {
        const token = request.headers['x-auth-token']
        return typeof token === 'string' ? token : undefined
      }
    }
  })
  app.addHook('onRequest', async (request) => {
    if (request.headers['x-auth-token'] === undefined) return
    try {
      await request.jwtVerify()
    } catch (error) {
      request.log.info({ reason: (error as { code?: string }).code }, 'token rejected')
    }
  })
}

export async function buildGateway (options: GatewayOptions): Promise<FastifyInstance> {
  // frameworkErrors: URLs the router refuses (%c0%af) are answered in the API's envelope, with a decision line.
  const { prefix, routes } = options.authz ?? {}
  const guarded = { ...(prefix === undefined ? {} : { prefix }), ...(routes === undefined ? {} : { routes }) }
  const app = Fastify({ frameworkErrors: evsAuthzFrameworkErrors(guarded), ...options.server, logger: options.logger ?? false })
  await authenticateFromAuthToken(app, options.secret)
  await app.register(evsAuthz, {
    ...(options.serviceToken === undefined
      ? {}
      : { resolveEnterpriseProject: upstreamEnterpriseProjectResolver({ upstream: options.upstream, token: options.serviceToken }) }),
    ...options.authz
  })
  await options.beforeProxy?.(app)
  const { forwardHeaders, responseHeaders } = options
  await app.register(proxy, {
    upstream: options.upstream,
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        const stripped = stripIdentityHeaders(headers as IncomingHttpHeaders)
        return forwardHeaders === undefined ? stripped : forwardHeaders(request as FastifyRequest, stripped)
      },
      // Hop-by-hop headers of the upstream answer are not the client's (RFC 9110 7.6.1): a copied
      // `connection: keep-alive` would override the client's `Connection: close`.
      rewriteHeaders: (headers, request) => {
        const { connection: _connection, 'keep-alive': _keepAlive, ...endToEnd } = headers as IncomingHttpHeaders
        return request === undefined || responseHeaders === undefined ? endToEnd : responseHeaders(request as FastifyRequest, endToEnd)
      }
    }
  })
  return app
}
