// The demo gateway in front of a real OpenStack Cinder (scripts/cinder/: noauth or --isolated, no
// Keystone). Same pieces as examples/gateway.ts: @fastify/jwt verifies the caller's token from
// X-Auth-Token, evs-authz authorizes, @fastify/http-proxy forwards the path unchanged. On top:
//
// - the backend credential is made from the VERIFIED claims only: X-Auth-Token becomes Cinder's
//   `user:project` form (sub, project_id); whatever identity the client sent is removed, including
//   noauth Cinder's X-Auth-User / X-Auth-Project-Id and `_` spellings a WSGI server would read;
// - `unmatched: 'pass'` lets the non-snapshot reads the CLIs need through (`GET /`, volume lookups), but
//   only to a verified caller and only for GET/HEAD: noauth Cinder makes every token an admin, so an
//   unmatched write (volume delete, reset-state, ...) would be an unchecked privilege;
// - request ids are OpenStack-style `req-<uuid>`: every answer carries the gateway's id in
//   x-openstack-request-id and x-compute-request-id (what the CLIs print as "Request-ID"), it is the
//   requestId of the decision line, and it is sent upstream as Cinder's global request id, so Cinder's
//   log lines for the request carry it too.
import { randomBytes, randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { buildGateway, type GatewayOptions } from './gateway.js'

export interface CinderGatewayOptions {
  /** Cinder's endpoint without a path, e.g. `http://127.0.0.1:18776`. */
  readonly upstream: string
  /** HS256 key of the callers' tokens (see examples/gateway.ts for production verification). */
  readonly secret: string
  readonly logger?: GatewayOptions['logger']
  /** Extra evs-authz options; `unmatched` defaults to `'pass'` here. */
  readonly authz?: GatewayOptions['authz']
  /** Let unmatched non-GET requests (volume writes, actions) through to Cinder. Default false. */
  readonly passUnmatchedWrites?: boolean
}

/** Headers only the gateway may set upstream, compared with `_` read as `-` (WSGI merges the two). */
const GATEWAY_OWNED = new Set(['x-auth-token', 'x-auth-user', 'x-auth-project-id', 'x-auth-key', 'x-openstack-request-id'])
const REQUEST_ID_HEADERS = ['x-openstack-request-id', 'x-compute-request-id'] as const
/** What Cinder's noauth token parser and its project_id_regex accept unambiguously. */
const USER_ID = /^[A-Za-z0-9_.@-]{1,255}$/
const PROJECT_ID = /^[0-9a-f-]{1,64}$/
const SAFE_METHODS = new Set(['GET', 'HEAD'])

const UNAUTHORIZED = { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }
const FORBIDDEN = { forbidden: { code: 403, message: 'Policy doesn\'t allow this request to be performed.' } }

/** `user:project` for noauth Cinder (and for --isolated, which adds the default roles), or undefined. */
export function backendToken (claims: unknown): string | undefined {
  if (typeof claims !== 'object' || claims === null) return undefined
  const { sub, project_id: project } = claims as { sub?: unknown, project_id?: unknown }
  if (typeof sub !== 'string' || typeof project !== 'string') return undefined
  return USER_ID.test(sub) && PROJECT_ID.test(project) ? `${sub}:${project}` : undefined
}

function refuse (request: FastifyRequest, reply: FastifyReply, status: 401 | 403, reason: string): FastifyReply {
  request.log.info({ reason, method: request.method, path: request.url.split('?', 1)[0], requestId: request.id }, 'cinder gateway: refused')
  const id = String(request.id)
  reply.code(status).headers({ 'x-openstack-request-id': id, 'x-compute-request-id': id })
  if (status === 401) reply.header('www-authenticate', 'Keystone')
  return reply.send(status === 401 ? UNAUTHORIZED : FORBIDDEN)
}

export async function buildCinderGateway (options: CinderGatewayOptions): Promise<FastifyInstance> {
  const tokens = new WeakMap<FastifyRequest, string>()
  const passWrites = options.passUnmatchedWrites === true
  return await buildGateway({
    upstream: options.upstream,
    secret: options.secret,
    logger: options.logger ?? false,
    server: { genReqId: () => `req-${randomUUID()}`, requestIdHeader: false },
    authz: { unmatched: 'pass', ...options.authz },
    beforeProxy: (app) => {
      // After evs-authz's onRequest decision, before anything is proxied.
      app.addHook('preHandler', async (request, reply) => {
        const decision = request.evsAuthz
        // Outside /v2 and /v3 (the version document): forwarded without any credential.
        if (decision === null || decision.reason === 'not-guarded') return
        const user = (request as FastifyRequest & { user?: unknown }).user
        const token = backendToken(user)
        // No verified caller (an unmatched path), or claims the backend credential cannot be made from.
        if (token === undefined) {
          return await refuse(request, reply, user == null ? 401 : 403, user == null ? 'no-credentials' : 'unforwardable-identity')
        }
        if (decision.reason === 'unmatched-pass' && !passWrites && !SAFE_METHODS.has(request.method)) {
          return await refuse(request, reply, 403, 'unmatched-write')
        }
        tokens.set(request, token)
      })
    },
    forwardHeaders: (request, headers) => {
      const forwarded: IncomingHttpHeaders = {}
      for (const [name, value] of Object.entries(headers)) {
        if (!GATEWAY_OWNED.has(name.toLowerCase().replaceAll('_', '-'))) forwarded[name] = value
      }
      const token = tokens.get(request)
      if (token !== undefined) forwarded['x-auth-token'] = token
      forwarded['x-openstack-request-id'] = String(request.id)
      return forwarded
    },
    responseHeaders: (request, headers) => {
      const answered: IncomingHttpHeaders = { ...headers }
      for (const name of REQUEST_ID_HEADERS) answered[name] = String(request.id)
      return answered
    }
  })
}

/** Personas for the recipe in README "In front of OpenStack Cinder" (hex project ids, as Cinder wants them). */
export const CINDER_DEMO = {
  project: '0123456789abcdef0123456789abcdef',
  otherProject: 'fedcba9876543210fedcba9876543210'
} as const

export const cinderPersonas: ReadonlyArray<{ readonly name: string, readonly claims: Record<string, unknown> }> = [
  { name: 'admin', claims: { sub: 'alice', project_id: CINDER_DEMO.project, roles: ['te_admin'] } },
  { name: 'readonly', claims: { sub: 'bob', project_id: CINDER_DEMO.project, roles: ['readonly'] } },
  {
    name: 'nodelete',
    claims: {
      sub: 'carol',
      project_id: CINDER_DEMO.project,
      actions: ['evs:snapshots:create', 'evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:update', 'evs:snapshots:rollback',
        'evs:volumes:get']
    }
  },
  { name: 'other', claims: { sub: 'dave', project_id: CINDER_DEMO.otherProject, roles: ['te_admin'] } }
]

// `npx tsx examples/cinder-gateway.ts`: the gateway on 127.0.0.1:$PORT (default 18780) in front of
// $CINDER_URL (default http://127.0.0.1:18776), printing tokens and CLI command lines. Ctrl-C stops it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env
  const upstream = env['CINDER_URL'] ?? 'http://127.0.0.1:18776'
  const secret = env['EVS_AUTHZ_DEMO_SECRET'] ?? randomBytes(32).toString('hex')
  const app = await buildCinderGateway({ upstream, secret, logger: { level: 'info' } })
  await app.listen({ host: '127.0.0.1', port: Number(env['PORT'] ?? 18780) })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const p = CINDER_DEMO.project
  console.error([
    `evs-authz Cinder gateway on ${url} -> Cinder ${upstream}`,
    `export GW=${url} P=${p} Q=${CINDER_DEMO.otherProject}`,
    ...cinderPersonas.map(({ name, claims }) => `export TOKEN_${name.toUpperCase()}='${app.jwt.sign(claims, { expiresIn: '24h' })}'`),
    '# e.g.:',
    'cinder --os-auth-type admin_token --os-endpoint $GW/v3/$P --os-project-id $P --os-token "$TOKEN_READONLY" snapshot-list',
    'openstack --os-auth-type admin_token --os-endpoint $GW/v3/$P --os-token "$TOKEN_NODELETE" volume snapshot list',
    'Decision lines go to stdout; Ctrl-C stops the gateway.'
  ].join('\n'))
  const stop = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
