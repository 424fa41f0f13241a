// The Keystone validator as the `grants` option of both adapters: the client gets keystonemiddleware's
// 401 (with the configured public identity URL), the 403 naming the scope, the 503 when Keystone cannot
// answer, and the Keystone default roles decide reads and writes. Fastify and Express answer alike.
import t from 'tap'
import express from 'express'
import Fastify from 'fastify'
import { inject } from 'light-my-request'
import evsAuthz, { keystoneDefaultRoles, keystoneIdentity, type KeystoneIdentity } from '../../src/index.js'
import evsAuthzExpress from '../../src/express.js'
import { startFakeKeystone, type FakeKeystone } from './fake-keystone.js'

const P = '0123456789abcdef0123456789abcdef'
const Q = 'fedcba9876543210fedcba9876543210'
const SNAP = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

interface Answer { status: number, body: Record<string, unknown>, headers: Record<string, unknown> }
type Send = (method: string, url: string, token?: string) => Promise<Answer>

const quiet = { debug: () => undefined, info: () => undefined, error: () => undefined }

async function fastifyApp (identity: KeystoneIdentity, reached: string[]): Promise<Send> {
  const app = Fastify()
  await app.register(evsAuthz, { grants: identity.grants, policies: keystoneDefaultRoles })
  app.all('/*', async (request) => {
    reached.push(request.url)
    return { reached: true }
  })
  await app.ready()
  return async (method, url, token) => {
    const response = await app.inject({ method: method as 'GET', url, headers: token === undefined ? {} : { 'x-auth-token': token } })
    return { status: response.statusCode, body: response.json() as Record<string, unknown>, headers: response.headers }
  }
}

function expressApp (identity: KeystoneIdentity, reached: string[]): Send {
  const app = express()
  app.use(evsAuthzExpress({ grants: identity.grants, policies: keystoneDefaultRoles, logger: quiet }))
  app.all(/.*/, (req, res) => {
    reached.push(req.originalUrl)
    res.json({ reached: true })
  })
  return async (method, url, token) => {
    const response = await inject(app, { method: method as 'GET', url, headers: token === undefined ? {} : { 'x-auth-token': token } })
    return { status: response.statusCode, body: response.json() as Record<string, unknown>, headers: response.headers }
  }
}

let fake: FakeKeystone
t.before(async () => { fake = await startFakeKeystone() })
t.teardown(async () => { await fake.close() })

for (const [name, build] of [['fastify', fastifyApp], ['express', expressApp]] as const) {
  t.test(`${name}: Keystone identity through the grants option`, async (t) => {
    fake.failure = 'none'
    const identity = keystoneIdentity({
      url: fake.url,
      publicUrl: 'https://identity.example/v3',
      credentials: { ...fake.user, projectName: 'service' },
      timeoutMs: 1000
    })
    const reached: string[] = []
    const send = await build(identity, reached)
    const reader = fake.add({ project: { id: P }, roles: ['reader'] })
    const member = fake.add({ project: { id: P }, roles: ['member', 'reader'] })
    const adminOfQ = fake.add({ project: { id: Q }, roles: ['admin', 'member', 'reader'] })
    const system = fake.add({ system: { all: true }, roles: ['admin'] })

    const listed = await send('GET', `/v3/${P}/snapshots`, reader)
    t.equal(listed.status, 200, 'reader lists')
    const readerWrite = await send('DELETE', `/v3/${P}/snapshots/${SNAP}`, reader)
    t.equal(readerWrite.status, 403, 'reader cannot delete')
    t.match(readerWrite.body, { forbidden: { message: 'Policy doesn\'t allow evs:snapshots:delete to be performed.' } })
    t.equal((await send('DELETE', `/v3/${P}/snapshots/${SNAP}`, member)).status, 200, 'member deletes')
    const crossProject = await send('GET', `/v3/${P}/snapshots/${SNAP}`, adminOfQ)
    t.equal(crossProject.status, 403, 'the admin of Q stays in Q')
    t.match(crossProject.body, { forbidden: { message: /Project ID in the URI/ } })

    for (const token of [undefined, 'gAAAAAinvalid']) {
      const refused = await send('GET', `/v3/${P}/snapshots`, token)
      t.equal(refused.status, 401, `401 for ${token === undefined ? 'no token' : 'an invalid token'}`)
      t.same(refused.body, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } })
      t.equal(refused.headers['www-authenticate'], 'Keystone uri="https://identity.example/v3"')
    }
    const scoped = await send('GET', `/v3/${P}/snapshots`, system)
    t.equal(scoped.status, 403)
    t.match(scoped.body, { forbidden: { code: 403, message: /not scoped to a project \(system scope\)/ } })

    fake.failure = 'status-500'
    const fresh = fake.add({ project: { id: P }, roles: ['member'] })
    const down = await send('POST', `/v3/${P}/snapshots`, fresh)
    t.equal(down.status, 503)
    t.same(down.body, { serviceUnavailable: { code: 503, message: 'The Keystone service is temporarily unavailable.' } })
    t.type(down.headers['x-openstack-request-id'], 'string', 'the request id is on the 503 too')
    fake.failure = 'none'
    t.equal((await send('GET', `/v3/${P}/snapshots`, fresh)).status, 200, 'back once Keystone answers')
    t.same(reached, [`/v3/${P}/snapshots`, `/v3/${P}/snapshots/${SNAP}`, `/v3/${P}/snapshots`], 'only allowed requests reached the handler')
  })
}

t.test('the decision line of a Keystone outage says 503 and why, at error level', async (t) => {
  fake.failure = 'hang'
  const identity = keystoneIdentity({ url: fake.url, credentials: { ...fake.user, projectName: 'service' }, timeoutMs: 1000 })
  const lines: Array<Record<string, unknown>> = []
  const app = express()
  const at = (level: string) => (fields: object): void => { lines.push({ level, ...fields }) }
  app.use(evsAuthzExpress({ grants: identity.grants, logger: { debug: at('debug'), info: at('info'), error: at('error') } }))
  const response = await inject(app,
    { method: 'GET', url: `/v3/${P}/snapshots`, headers: { 'x-auth-token': fake.add({ project: { id: P }, roles: ['reader'] }) } })
  fake.failure = 'none'
  t.equal(response.statusCode, 503)
  t.match(lines,
    [{ level: 'error', status: 503, reason: 'grants-error', detail: /identity-unavailable: token validation failed: timed out/ }])
})
