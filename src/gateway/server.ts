// `evs-authz gateway`: Fastify + an identity (Keystone validation, or JWT verification) + evs-authz +
// @fastify/http-proxy, built from a GatewayConfig. It answers /healthz and /readyz itself, strips every
// client-sent identity header before forwarding, passes the caller's X-Auth-Token on unchanged (a
// keystone-mode backend validates it again), and serves Prometheus metrics on a separate listener.
import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import proxy from '@fastify/http-proxy'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { errorCode, errorMessage } from '../error-text.js'
import evsAuthz from '../fastify.js'
import { evsAuthzFrameworkErrors } from '../framework-errors.js'
import { stripIdentityHeaders } from '../forwarding.js'
import { keystoneIdentity, type KeystoneClaims, type KeystoneIdentity } from '../identity/keystone.js'
import { keystoneDefaultRoles } from '../identity/keystone-roles.js'
import { isIdentityRejection, rejectionResponse } from '../identity/rejection.js'
import type { GatewayConfig } from './config.js'
import { createGatewayMetrics, serveMetrics, type GatewayMetrics } from './metrics.js'

export interface Gateway {
  readonly app: FastifyInstance
  readonly identity: KeystoneIdentity | undefined
  readonly metrics: GatewayMetrics
  /** Listens on config.listen (and config.metrics); resolves to the bound URLs. */
  start (): Promise<{ url: string, metricsUrl: string | undefined }>
  /** Stops accepting, waits for in-flight requests (at most drainMs), closes both listeners. */
  stop (): Promise<void>
}

export interface GatewayRuntime {
  /** Where log lines go (default: stdout). */
  readonly logStream?: NodeJS.WritableStream
}

const UNAUTHORIZED = { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }
const OWN_ROUTES = new Set(['/healthz', '/readyz'])
const PUBLIC_METHODS = new Set(['GET', 'HEAD'])
/** Header values a backend can receive as they are (Keystone names may hold any Unicode). */
const HEADER_SAFE = /^[\x20-\x7e]*$/

/** keystonemiddleware's identity headers for a validated token (for backends with delay_auth_decision). */
export function keystoneIdentityHeaders (claims: KeystoneClaims): Record<string, string> {
  const { project, user, roles } = claims.token
  const headers: Record<string, string | undefined> = {
    'x-identity-status': 'Confirmed',
    'x-user-id': user.id,
    'x-user-name': user.name,
    'x-user-domain-id': user.domain?.id,
    'x-user-domain-name': user.domain?.name,
    'x-project-id': project.id,
    'x-project-name': project.name,
    'x-project-domain-id': project.domain?.id,
    'x-project-domain-name': project.domain?.name,
    'x-roles': roles.map((r) => r.name).join(',')
  }
  const safe: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && HEADER_SAFE.test(value)) safe[name] = value
  return safe
}

export async function buildGateway (config: GatewayConfig, runtime: GatewayRuntime = {}): Promise<Gateway> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Fastify's request lines would log the target as received; a query may carry a token
      // (`?X-Auth-Token=...` on an absolute-form target), so they log the path only.
      serializers: {
        req: (request: FastifyRequest) =>
          ({ method: request.method, url: request.url.split(/[?#]/, 1)[0] ?? '', remoteAddress: request.ip })
      },
      ...(runtime.logStream === undefined ? {} : { stream: runtime.logStream })
    },
    genReqId: () => `req-${randomUUID()}`,
    requestIdHeader: false,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // URLs the router refuses (%c0%af) get the API's envelope and a decision line, like any malformed path.
    frameworkErrors: evsAuthzFrameworkErrors(config.authz.prefix === undefined ? {} : { prefix: config.authz.prefix })
  })
  const metrics = createGatewayMetrics()
  const keystone = 'keystone' in config.identity ? config.identity.keystone : undefined
  const identity = keystone === undefined
    ? undefined
    : keystoneIdentity({ ...keystone.options, onEvent: metrics.onIdentityEvent, log: app.log })
  // The validated claims per request, for the optional identity headers upstream (keyed by the request object:
  // the proxy's hooks see it under a wider server type).
  const validated = new WeakMap<object, KeystoneClaims>()

  app.get('/healthz', async () => ({ status: 'alive' }))
  app.get('/readyz', async (_request, reply) => {
    const [identityUp, upstreamUp] = await Promise.all([
      identity === undefined ? true : identity.reachable(),
      upstreamAnswers(config.upstream)
    ])
    return await reply.code(identityUp && upstreamUp ? 200 : 503).send({
      status: identityUp && upstreamUp ? 'ready' : 'not ready',
      keystone: identity === undefined ? 'not used' : identityUp,
      upstream: upstreamUp
    })
  })

  let grants: ((request: FastifyRequest) => unknown) | undefined
  if (identity !== undefined) {
    grants = (request) => {
      const claims = identity.grants(request)
      if (claims instanceof Promise) return claims.then((c) => { validated.set(request, c); return c })
      validated.set(request, claims)
      return claims
    }
  } else if ('jwt' in config.identity) {
    await registerJwt(app, config.identity.jwt)
  }
  const policies = keystone?.defaultRoles === true ? { ...keystoneDefaultRoles, ...config.policies } : config.policies
  await app.register(evsAuthz, {
    ...config.authz,
    policies,
    ...(grants === undefined ? {} : { grants }),
    onDecision: metrics.onDecision
  })
  // Requests evs-authz did not judge (unmatched ones let through by `unmatched: 'pass'`, and paths
  // outside /v2 and /v3) still need a valid identity, so nothing unauthenticated reaches the backend;
  // only the version document (GET / HEAD /, public in Cinder) and the gateway's own routes do.
  app.addHook('preHandler', async (request, reply) => {
    const decision = request.evsAuthz
    if (decision !== null && decision.reason !== 'unmatched-pass') return
    if (decision === null && (OWN_ROUTES.has(request.routeOptions.url ?? '') ||
      (PUBLIC_METHODS.has(request.method) && request.url.split('?')[0] === '/'))) return
    if (identity === undefined) {
      // @fastify/jwt's request.user (declared by its types only where they are loaded).
      if (!('user' in request) || request.user == null) {
        return await reply.code(401).headers({ 'www-authenticate': 'Keystone', ...requestIds(request) }).send(UNAUTHORIZED)
      }
      return
    }
    try {
      const header = request.headers['x-auth-token']
      validated.set(request, await identity.claims(typeof header === 'string' ? header : undefined))
    } catch (error) {
      if (!isIdentityRejection(error)) throw error
      request.log.info({ reason: error.kind, detail: error.detail, requestId: request.id },
        'evs-authz gateway: identity refused an unmatched request')
      const response = rejectionResponse(error, 'cinder')
      return await reply.code(response.status).headers({ ...response.headers, ...requestIds(request) }).send(response.body)
    }
  })
  await app.register(proxy, {
    upstream: config.upstream,
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        const forwarded = stripIdentityHeaders(headers)
        const claims = validated.get(request)
        if (keystone?.forwardIdentityHeaders === true && claims !== undefined) Object.assign(forwarded, keystoneIdentityHeaders(claims))
        // Cinder takes a req-<uuid> X-OpenStack-Request-ID as the global request id: its log lines then
        // carry the gateway's id too.
        forwarded['x-openstack-request-id'] = String(request.id)
        return forwarded
      }
    }
  })

  let metricsServer: Server | undefined
  return {
    app,
    identity,
    metrics,
    async start () {
      await app.listen({ host: config.listen.host, port: config.listen.port })
      const url = `http://${hostForUrl(config.listen.host)}:${boundPort(app.server)}`
      let metricsUrl: string | undefined
      if (config.metrics !== undefined) {
        metricsServer = await serveMetrics(metrics.registry, config.metrics.host, config.metrics.port)
        metricsUrl = `http://${hostForUrl(config.metrics.host)}:${boundPort(metricsServer)}/metrics`
      }
      return { url, metricsUrl }
    },
    async stop () {
      const closing = app.close()
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), config.drainMs).unref())
      const drained = await Promise.race([closing.then(() => true), timedOut])
      if (!drained) {
        app.log.warn({ drainMs: config.drainMs }, 'evs-authz gateway: in-flight requests did not finish in time; closing their connections')
        app.server.closeAllConnections()
        await closing
      }
      if (metricsServer !== undefined) {
        const server = metricsServer
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    }
  }
}

function requestIds (request: FastifyRequest): Record<string, string> {
  return { 'x-openstack-request-id': String(request.id), 'x-compute-request-id': String(request.id) }
}

/** The port a listener bound. */
function boundPort (server: Server): number {
  // Listening on host and port, so address() is an AddressInfo (a string only for pipes, null only before listen).
  return (server.address() as AddressInfo).port
}

function hostForUrl (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

async function upstreamAnswers (upstream: string): Promise<boolean> {
  try {
    const response = await fetch(`${upstream}/`, { signal: AbortSignal.timeout(2000), redirect: 'manual' })
    await response.arrayBuffer()
    return response.status < 500
  } catch {
    return false
  }
}

/** @fastify/jwt reading X-Auth-Token, algorithms pinned; a bad token is left to evs-authz (401). */
async function registerJwt (app: FastifyInstance, jwt: Extract<GatewayConfig['identity'], { jwt: unknown }>['jwt']): Promise<void> {
  // An optional dependency: only this identity needs it.
  const { default: fastifyJwt } = await import('@fastify/jwt').catch((error: unknown) => {
    throw new Error(`identity.jwt needs the optional dependency @fastify/jwt (npm install @fastify/jwt): ${errorMessage(error)}`)
  })
  await app.register(fastifyJwt, {
    secret: jwt.kind === 'secret' ? jwt.key : { public: jwt.key },
    verify: {
      algorithms: [...jwt.algorithms],
      cache: true,
      ...(jwt.issuer === undefined ? {} : { allowedIss: jwt.issuer }),
      ...(jwt.audience === undefined ? {} : { allowedAud: jwt.audience }),
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
      request.log.info({ reason: errorCode(error) }, 'evs-authz gateway: token rejected')
    }
  })
}
