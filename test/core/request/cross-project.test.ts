// all_tenants / all_projects: removed from what is forwarded unless explicitly granted; and denials
// carry the request id that the decision line logs (what OpenStack clients print as Request-ID).
import t from 'tap'
import Fastify from 'fastify'
import express from 'express'
import { inject } from 'light-my-request'
import evsAuthz, { type EvsAuthzOptions } from '../../../src/index.js'
import evsAuthzExpress from '../../../src/express.js'
import { withoutCrossProjectParams } from '../../../src/core/request/cross-project.js'

const P = '0123456789abcdef0123456789abcdef'

const stripping: Array<[string, string | undefined]> = [
  [`/v3/${P}/snapshots/detail?all_tenants=1&name=snap`, `/v3/${P}/snapshots/detail?name=snap`],
  [`/v3/${P}/snapshots/detail?name=snap&all_tenants=1`, `/v3/${P}/snapshots/detail?name=snap`],
  [`/v3/${P}/snapshots/detail?all_tenants=1`, `/v3/${P}/snapshots/detail`],
  [`/v3/${P}/snapshots/detail?all_tenants=0&ALL_TENANTS=1&all_projects=true`, `/v3/${P}/snapshots/detail`],
  [`/v3/${P}/snapshots/detail?all%5Ftenants=1&limit=5`, `/v3/${P}/snapshots/detail?limit=5`],
  [`/v3/${P}/snapshots/detail?all_tenants&x=1`, `/v3/${P}/snapshots/detail?x=1`],
  [`/v3/${P}/snapshots/detail?all_tenants+=1`, `/v3/${P}/snapshots/detail`],
  [`/v3/${P}/snapshots/detail?name=all_tenants`, undefined],
  [`/v3/${P}/snapshots/detail?name=snap`, undefined],
  [`/v3/${P}/snapshots/detail`, undefined],
  [`/v3/${P}/snapshots/detail?%zz=1&all=2`, undefined]
]

for (const [url, expected] of stripping) {
  t.test(`forwarded URL for ${url}`, async (t) => {
    t.equal(withoutCrossProjectParams(url), expected)
  })
}

interface FastifyHarness { app: ReturnType<typeof Fastify>, seen: string[], lines: Array<Record<string, unknown>> }

async function fastifyApp (options: EvsAuthzOptions = {}): Promise<FastifyHarness> {
  const seen: string[] = []
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({
    logger: { level: 'debug', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } },
    genReqId: () => `req-${lines.length}-test`
  })
  app.addHook('onRequest', async (request) => {
    const claims = request.headers['x-claims']
    Reflect.set(request, 'user', typeof claims === 'string' ? JSON.parse(claims) : undefined)
  })
  await app.register(evsAuthz, options)
  app.all('/*', async (request) => {
    seen.push(request.url)
    return {}
  })
  return { app, seen, lines }
}

const reader = JSON.stringify({ project_id: P, roles: ['readonly'] })
const explicit = JSON.stringify({ project_id: P, roles: ['readonly'], actions: ['evs:snapshots:listAllProjects'] })
const wildcard = JSON.stringify({ project_id: P, actions: ['*'] })

t.test('fastify: all_tenants is removed from what the backend receives, unless granted exactly', async (t) => {
  const { app, seen, lines } = await fastifyApp()
  t.teardown(() => app.close())
  const url = `/v3/${P}/snapshots/detail?all_tenants=1&name=snap`
  t.equal((await app.inject({ method: 'GET', url, headers: { 'x-claims': reader } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url, headers: { 'x-claims': wildcard } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url, headers: { 'x-claims': explicit } })).statusCode, 200)
  t.same(seen, [`/v3/${P}/snapshots/detail?name=snap`, `/v3/${P}/snapshots/detail?name=snap`, url],
    'a wildcard grant is not explicit; the exact action keeps the parameter')
  const details = lines.filter((l) => l['msg'] === 'evs-authz decision').map((l) => l['detail'])
  t.same(details, ['cross-project query parameters removed', 'cross-project query parameters removed', undefined])
})

t.test('fastify: unmatched paths passed through lose all_tenants too', async (t) => {
  const { app, seen } = await fastifyApp({ unmatched: 'pass' })
  t.teardown(() => app.close())
  await app.inject({ method: 'GET', url: `/v3/${P}/volumes/detail?all_tenants=1` })
  t.same(seen, [`/v3/${P}/volumes/detail`])
})

t.test('crossProjectQuery: deny refuses instead, naming the reason', async (t) => {
  const { app, seen, lines } = await fastifyApp({ crossProjectQuery: 'deny' })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'GET', url: `/v3/${P}/snapshots/detail?all_tenants=1`, headers: { 'x-claims': reader } })
  t.equal(response.statusCode, 403)
  t.same(response.json(), { forbidden: { code: 403, message: 'Policy doesn\'t allow all_tenants or all_projects to be used.' } })
  t.same(seen, [])
  t.equal(lines.find((l) => l['msg'] === 'evs-authz decision')?.['reason'], 'cross-project-query')
  t.equal((await app.inject({
    method: 'GET',
    url: `/v3/${P}/snapshots/detail?all_tenants=1`,
    headers: { 'x-claims': explicit }
  })).statusCode, 200)
  await t.rejects(async () => {
    const bad = Fastify()
    bad.register(evsAuthz, { crossProjectQuery: 'maybe' as never })
    await bad.ready()
  }, { code: 'EVS_AUTHZ_ERR_OPTIONS' })
})

t.test('denials carry the logged request id in x-compute-request-id and x-openstack-request-id', async (t) => {
  const { app, lines } = await fastifyApp()
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'DELETE', url: `/v3/${P}/snapshots/abc`, headers: { 'x-claims': reader } })
  const line = lines.find((l) => l['msg'] === 'evs-authz decision')
  t.equal(response.statusCode, 403)
  t.type(line?.['requestId'], 'string')
  t.equal(response.headers['x-compute-request-id'], line?.['requestId'])
  t.equal(response.headers['x-openstack-request-id'], line?.['requestId'])
})

t.test('express: the same stripping on req.url and req.originalUrl, and request ids on denials', async (t) => {
  const seen: string[] = []
  const lines: Array<Record<string, unknown>> = []
  const at = (fields: object): void => { lines.push({ ...fields }) }
  const a = express()
  a.use((req, _res, next) => {
    const claims = req.headers['x-claims']
    Reflect.set(req, 'user', typeof claims === 'string' ? JSON.parse(claims) : undefined)
    next()
  })
  const router = express.Router()
  router.use(evsAuthzExpress({ prefix: '/evs', logger: { debug: at, info: at, error: at } }))
  router.use((req, res) => {
    seen.push(`${req.originalUrl} ${req.url}`)
    res.json({})
  })
  a.use('/evs', router)
  await inject(a, { method: 'GET', url: `/evs/v3/${P}/snapshots/detail?all_tenants=1&name=x`, headers: { 'x-claims': reader } })
  t.same(seen, [`/evs/v3/${P}/snapshots/detail?name=x /v3/${P}/snapshots/detail?name=x`])
  const denied = await inject(a, { method: 'DELETE', url: `/evs/v3/${P}/snapshots/abc`, headers: { 'x-claims': reader } })
  t.match(denied.headers['x-compute-request-id'], /^req-[0-9a-f-]{36}$/)
  t.equal(denied.headers['x-compute-request-id'], lines.at(-1)?.['requestId'])
})
