import t from 'tap'
import express, { type Request, type RequestHandler } from 'express'
import express4 from 'express4'
import { inject } from 'light-my-request'
import evsAuthzExpress, { evsAuthzExpress as named } from '../src/express.js'
import type { Decision } from '../src/core/index.js'

const P = '0123456789abcdef0123456789abcdef'
const SNAP = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

interface Line { level: number, [field: string]: unknown }

function memoryLogger (): {
  logger: {
    debug: (f: object, m: string) => void,
    info: (f: object, m: string) => void,
    error: (f: object,
    m: string) => void
  },
  lines: Line[]
} {
  const lines: Line[] = []
  const at = (level: number) => (fields: object, msg: string): void => { lines.push({ level, ...fields, msg }) }
  return { logger: { debug: at(20), info: at(30), error: at(50) }, lines }
}

// The claims arrive like passport's req.user (or express-jwt's req.auth) from a test header.
const fakeAuth = (property: 'user' | 'auth'): RequestHandler => (req, _res, next) => {
  const claims = req.headers['x-test-claims']
  if (typeof claims === 'string') (req as unknown as Record<string, unknown>)[property] = JSON.parse(claims)
  next()
}

function app (options: Parameters<typeof evsAuthzExpress>[0] = {}, mount = '', authProperty: 'user' | 'auth' = 'user',
  factory: () => express.Express = express): { app: express.Express, lines: Line[], reached: string[] } {
  const { logger, lines } = memoryLogger()
  const reached: string[] = []
  const application = factory()
  const router = express.Router()
  router.use(fakeAuth(authProperty))
  router.use(evsAuthzExpress({ logger, ...options }))
  router.all(/.*/, (req, res) => {
    reached.push(req.originalUrl)
    res.json({ reached: true })
  })
  if (mount === '') application.use(router)
  else application.use(mount, router)
  return { app: application, lines, reached }
}

const claims = (actions: string[], project = P): Record<string, string> =>
  ({ 'x-test-claims': JSON.stringify({ project_id: project, sub: 'u1', actions }) })

t.test('default and named exports are the same middleware factory', async (t) => {
  t.equal(evsAuthzExpress, named)
})

t.test('allows exact grants and answers denials with the same bodies as the Fastify plugin', async (t) => {
  const { app: a, lines, reached } = app()
  const ok = await inject(a, { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}`, headers: claims(['evs:snapshots:get']) })
  t.equal(ok.statusCode, 200)
  const denied = await inject(a, { method: 'DELETE', url: `/v2/${P}/snapshots/${SNAP}`, headers: claims(['evs:snapshots:get']) })
  t.equal(denied.statusCode, 403)
  t.same(denied.json(), { forbidden: { code: 403, message: 'Policy doesn\'t allow evs:snapshots:delete to be performed.' } })
  const evs = await inject(a, { method: 'POST', url: `/v2/${P}/cloudsnapshots`, headers: claims([]) })
  t.same(evs.json(), { error: { code: 'EVS.5403', message: 'Policy doesn\'t allow evs:snapshots:create to be performed.' } })
  const anonymous = await inject(a, { method: 'GET', url: `/v2/${P}/snapshots` })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Keystone')
  t.same(reached, [`/v2/${P}/snapshots/${SNAP}`])
  t.equal(lines.length, 4, 'one decision line per decision')
  t.same(lines.map((l) => [l.level, l['decision'], l['reason']]),
    [[20, 'allow', 'granted'], [30, 'deny', 'missing-action'], [30, 'deny', 'missing-action'], [30, 'deny', 'no-credentials']])
  t.match(lines[1],
    {
      msg: 'evs-authz decision',
      method: 'DELETE',
      template: '/v2/{project_id}/snapshots/{snapshot_id}',
      projectId: P,
      userId: 'u1',
      missingActions: ['evs:snapshots:delete', 'evs:volumes:get']
    })
  t.type(lines[1]?.['requestId'], 'string')
})

t.test('matches on req.originalUrl, so a mount path cannot hide the API path', async (t) => {
  const { app: a, reached } = app({ prefix: '/evs' }, '/evs')
  const denied = await inject(a, { method: 'DELETE', url: `/evs/v2/${P}/snapshots/${SNAP}`, headers: claims(['evs:snapshots:get']) })
  t.equal(denied.statusCode, 403)
  const ok = await inject(a, { method: 'GET', url: `/evs/v2/${P}/snapshots/${SNAP}`, headers: claims(['evs:snapshots:get']) })
  t.equal(ok.statusCode, 200)
  t.same(reached, [`/evs/v2/${P}/snapshots/${SNAP}`])
})

t.test('falls back to express-jwt\'s req.auth', async (t) => {
  const { app: a } = app({}, '', 'auth')
  t.equal((await inject(a, { method: 'GET', url: `/v2/${P}/snapshots`, headers: claims(['evs:snapshots:list']) })).statusCode, 200)
})

t.test('audit mode logs would-be denials and blocks nothing', async (t) => {
  const { app: a, lines, reached } = app({ mode: 'audit' })
  const response = await inject(a, { method: 'DELETE', url: `/v2/${P}/snapshots/${SNAP}` })
  t.equal(response.statusCode, 200)
  t.equal(reached.length, 1)
  t.match(lines[0], { decision: 'deny', reason: 'no-credentials', mode: 'audit' })
})

t.test('grants errors fail closed with 500; onDecision sees every decision and cannot break it', async (t) => {
  const seen: Decision[] = []
  const { app: a, lines, reached } = app({
    grants: async (req: Request) => {
      if (req.headers['x-fail'] !== undefined) throw new Error('directory down')
      return { project_id: P, actions: ['evs:snapshots:list'] }
    },
    onDecision: (decision) => {
      seen.push(decision)
      throw new Error('metrics exploded')
    }
  })
  const failed = await inject(a, { method: 'GET', url: `/v2/${P}/snapshots`, headers: { 'x-fail': '1' } })
  t.equal(failed.statusCode, 500)
  t.same(failed.json(),
    { computeFault: { code: 500, message: 'The server has either erred or is incapable of performing the requested operation.' } })
  const ok = await inject(a, { method: 'GET', url: `/v2/${P}/snapshots` })
  t.equal(ok.statusCode, 200)
  t.same(seen.map((d) => d.reason), ['grants-error', 'granted'])
  t.equal(reached.length, 1)
  t.ok(lines.some((l) => l.level === 50 && l['reason'] === 'grants-error'))
  t.notMatch(JSON.stringify(lines), /directory down/, 'the error text is not logged as a decision detail')
})

t.test('paths outside the API pass untouched and unlogged; req.evsAuthz holds the decision', async (t) => {
  const { logger, lines } = memoryLogger()
  const a = express()
  const decisions: Array<string | undefined> = []
  a.use(evsAuthzExpress({ logger, grants: () => ({ project_id: P, actions: ['*'] }) }))
  a.use((req, res) => {
    decisions.push(req.evsAuthz?.reason)
    res.json({})
  })
  await inject(a, { method: 'GET', url: '/health' })
  await inject(a, { method: 'GET', url: `/v2/${P}/snapshots` })
  t.same(decisions, [undefined, 'granted'])
  t.equal(lines.length, 1)
})

t.test('malformed paths and method overrides are 400 before any grant is read', async (t) => {
  let grantsCalls = 0
  const { app: a } = app({ grants: () => { grantsCalls++; return { project_id: P, actions: ['*'] } } })
  t.equal((await inject(a, { method: 'GET', url: `/v2/${P}/snapshots/a%2Fb`, headers: {} })).statusCode, 400)
  t.equal((await inject(a, { method: 'POST', url: `/v2/${P}/snapshots`, headers: { 'x-http-method-override': 'DELETE' } })).statusCode, 400)
  t.equal(grantsCalls, 0)
})

t.test('works on Express 4 too', async (t) => {
  const { app: a, reached } = app({}, '', 'user', express4 as unknown as () => express.Express)
  t.equal((await inject(a, { method: 'DELETE', url: `/v2/${P}/snapshots/${SNAP}`, headers: claims([]) })).statusCode, 403)
  t.equal((await inject(a, { method: 'GET', url: `/v2/${P}/snapshots/detail`, headers: claims(['evs:snapshots:list']) })).statusCode, 200)
  t.equal(reached.length, 1)
})

t.test('invalid options throw at creation, listing every problem', async (t) => {
  t.throws(() => evsAuthzExpress({ mode: 'block' as never, unmatched: 'maybe' as never }), { code: 'EVS_AUTHZ_ERR_OPTIONS' })
  const error =
    t.throws(() => evsAuthzExpress({ mode: 'block' as never, grants: 5 as never })) as unknown as { problems: Array<{ at: string }> }
  t.same(error.problems.map((p) => p.at), ['mode', 'grants'])
})

t.test('the default logger is pino', async (t) => {
  t.doesNotThrow(() => evsAuthzExpress())
})
