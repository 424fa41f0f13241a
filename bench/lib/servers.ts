// Child-process entry for the throughput section: a small backend, or one gateway variant, on
// 127.0.0.1 with an ephemeral port reported over IPC. Run as `node --import tsx servers.ts <kind> ...`.
//   backend                      answers every request with a small JSON body
//   proxy      <upstream>        (a) Fastify + @fastify/http-proxy, no authorization
//   jwt        <upstream> <key>  (a) + @fastify/jwt verifying every token (cache on), no authorization
//   evs-authz  <upstream> <key>  (b) + evs-authz (also serves (d): same server, a token it denies)
//   casbin     <upstream> <key>  (c) + casbin (RBAC + RESTful keyMatch2) in an onRequest hook
//   hooks      <upstream> <key>  (a) + @fastify/jwt + two empty hooks where evs-authz has its hooks (the floor)
//   probe      <upstream> <key>  no server: builds (b) with a probe hook, reports whether @fastify/jwt's cache hands
//                                back one claims object for a repeated token, and exits
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import proxy from '@fastify/http-proxy'
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify'
import { pino } from 'pino'
import { newEnforcer, newModelFromString, StringAdapter } from 'casbin'
import evsAuthz, { snapshotRoutes } from 'evs-authz'
import { toColonSyntax } from '../../dist/core/routing/template.js'
import { authenticateFromAuthToken } from '../../examples/gateway.js'
import { PROJECT } from './fixtures.js'

export type ServerKind = 'backend' | 'proxy' | 'jwt' | 'evs-authz' | 'casbin' | 'hooks' | 'probe'

export interface ReadyMessage {
  readonly port: number
  /** probe only: whether @fastify/jwt's cache hands back the same claims object for a repeated token. */
  readonly sameClaimsObject?: boolean
}

/** RBAC with RESTful matching, as in casbin's keymatch2 example, plus a role for the user. */
export const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && regexMatch(r.act, p.act)
`

/** The built-in table as casbin policy lines for a tenant administrator of PROJECT (te_admin may call every row). */
export function casbinPolicy (user: string): string {
  const lines = snapshotRoutes.map((row) => `p, te_admin, ${toColonSyntax(row.template).replace(':project_id', PROJECT)}, ${row.method}`)
  lines.push(`g, ${user}, te_admin`)
  return lines.join('\n')
}

function startBackend (): Promise<number> {
  const body =
    JSON.stringify({ snapshots: [{ id: 'a8d3c6f2-0000-4000-8000-000000000001', name: 'nightly', status: 'available', size: 40 }] })
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      response.end(body)
    })
  })
  server.keepAliveTimeout = 60_000
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

async function buildGateway (kind: Exclude<ServerKind, 'backend' | 'probe'>, upstream: string, key: string,
  extraHook?: (request: FastifyRequest) => void): Promise<FastifyInstance> {
  // Logger at info into /dev/null: evs-authz logs allows at debug (skipped) and denials at info.
  // Fastify's own two request lines per request are off in every variant, so they do not dilute
  // the difference being measured.
  const app = Fastify({
    logger: { level: 'info', stream: pino.destination({ dest: '/dev/null', sync: false }) },
    logController: new LogController({ disableRequestLogging: true })
  })
  if (kind !== 'proxy') await authenticateFromAuthToken(app, key)
  if (extraHook !== undefined) app.addHook('onRequest', async (request) => extraHook(request))
  if (kind === 'evs-authz') await app.register(evsAuthz)
  if (kind === 'hooks') {
    // The plugin's hooks with nothing inside: what Fastify's hook runners cost before evs-authz does any work.
    app.addHook('onRequest', function emptyOnRequest (_request, _reply, next) { next() })
    app.addHook('preParsing', function emptyPreParsing (_request, _reply, payload, next) { next(null, payload) })
  }
  if (kind === 'casbin') {
    const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL), new StringAdapter(casbinPolicy('u-admin')))
    // What fastify-casbin(-rest) users write: subject from the token, object the path, action the method.
    app.addHook('onRequest', async (request, reply) => {
      const user = (request as FastifyRequest & { user?: { sub?: string } | null }).user
      if (user === undefined || user === null || typeof user.sub !== 'string') {
        await reply.code(401).send({
          error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' }
        })
        return reply
      }
      const query = request.url.indexOf('?')
      const path = query === -1 ? request.url : request.url.slice(0, query)
      if (!(await enforcer.enforce(user.sub, path, request.method))) {
        await reply.code(403).send({ forbidden: { code: 403, message: 'Policy does not allow this request to be performed.' } })
        return reply
      }
      return undefined
    })
  }
  await app.register(proxy, { upstream })
  return app
}

/**
 * Whether the jwt cache returns one object for a repeated token (so evs-authz's grant cache hits). Run in a process of
 * its own: a second evs-authz app in the measured gateway's process would share its code's type feedback and slow
 * it down (about 3% of the gateway's CPU per request in section 3b), which no deployment with one app pays.
 */
async function claimsIdentity (upstream: string, key: string): Promise<boolean> {
  const seen: unknown[] = []
  // The probe hook is added after the jwt hook, so it sees the verified claims.
  const app = await buildGateway('evs-authz', upstream, key,
    (request) => { seen.push((request as FastifyRequest & { user?: unknown }).user) })
  await app.ready()
  const token = app.jwt.sign({ sub: 'u-admin', project_id: PROJECT, roles: ['te_admin'] })
  for (let i = 0; i < 3; i++) {
    await app.inject({ method: 'GET', url: `/v2/${PROJECT}/snapshots`, headers: { 'x-auth-token': token } })
  }
  await app.close()
  const users = seen.filter((u) => u !== undefined && u !== null)
  return users.length >= 2 && users.every((u) => u === users[0])
}

async function main (): Promise<void> {
  const [kind, upstream = '', key = ''] = process.argv.slice(2) as [ServerKind, string?, string?]
  process.on('disconnect', () => process.exit(0))
  let message: ReadyMessage
  if (kind === 'backend') {
    message = { port: await startBackend() }
  } else if (kind === 'probe') {
    message = { port: 0, sameClaimsObject: await claimsIdentity(upstream, key) }
  } else {
    const app = await buildGateway(kind, upstream, key)
    await app.listen({ host: '127.0.0.1', port: 0 })
    const port = (app.server.address() as AddressInfo).port
    message = { port }
  }
  process.send?.(message)
}

await main()
