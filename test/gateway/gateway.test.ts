// `evs-authz gateway` in-process, between a fake Keystone and a recording backend, all on 127.0.0.1:
// what reaches the backend (and what never does), the answers the client gets, health and readiness,
// metrics on their own listener, configuration errors listed at once.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildGateway, type Gateway } from '../../src/gateway/server.js'
import { GatewayConfigError, loadGatewayConfig, parseGatewayConfig } from '../../src/gateway/config.js'
import { startFakeKeystone, type FakeKeystone } from '../identity/fake-keystone.js'

const P = '0123456789abcdef0123456789abcdef'
const SNAP = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

interface Received { method: string, url: string, headers: IncomingHttpHeaders }

async function startBackend (): Promise<{ server: Server, url: string, received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    req.resume()
    req.on('end', () => {
      const status = req.url === '/' ? 300 : 200
      res.writeHead(status,
        { 'content-type': 'application/json', 'x-openstack-request-id': 'req-backend' }).end(JSON.stringify({ backend: true }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

let fake: FakeKeystone
let backend: Awaited<ReturnType<typeof startBackend>>
t.before(async () => {
  fake = await startFakeKeystone()
  backend = await startBackend()
})
t.teardown(async () => {
  await fake.close()
  backend.server.closeAllConnections()
  await new Promise((resolve) => backend.server.close(resolve))
})

function keystoneConfig (extra: Record<string, unknown> = {}, keystone: Record<string, unknown> = {}): unknown {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    upstream: backend.url,
    identity: {
      keystone: {
        url: fake.url,
        publicUrl: 'http://127.0.0.1:15000/v3',
        username: fake.user.username,
        passwordEnv: 'GW_TEST_PASSWORD',
        projectName: 'service',
        timeoutMs: 800,
        ...keystone
      }
    },
    policies: {
      'snapshot-operator': {
        Version: '1.1',
        Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:*', 'evs:volumes:get'] },
          { Effect: 'Deny', Action: ['evs:snapshots:delete'] }]
      }
    },
    authz: { unmatched: 'pass' },
    metrics: { host: '127.0.0.1', port: 0 },
    logLevel: 'silent',
    ...extra
  }
}

async function started (json: unknown): Promise<{ gateway: Gateway, url: string, metricsUrl: string | undefined }> {
  const config = parseGatewayConfig(json, tmpdir(), { GW_TEST_PASSWORD: fake.user.password })
  const gateway = await buildGateway(config)
  const urls = await gateway.start()
  return { gateway, ...urls }
}

t.test('keystone identity: allowed requests are forwarded with the caller\'s token and no client identity headers', async (t) => {
  const { gateway, url, metricsUrl } = await started(keystoneConfig())
  t.teardown(() => gateway.stop())
  const member = fake.add({ project: { id: P }, roles: ['member', 'reader'] })
  const reader = fake.add({ project: { id: P }, roles: ['reader'] })
  const operator = fake.add({ project: { id: P }, roles: ['snapshot-operator'] })
  const before = backend.received.length

  const allowed = await fetch(`${url}/v3/${P}/snapshots/${SNAP}`,
    {
      method: 'PUT',
      headers: {
        'x-auth-token': member,
        'x-roles': 'admin',
        'x-service-token': 'forged',
        x_user_id: 'forged',
        'content-type': 'application/json'
      },
      body: '{"snapshot":{"name":"n"}}'
    })
  t.equal(allowed.status, 200)
  t.same(await allowed.json(), { backend: true })
  const got = backend.received.at(-1) as Received
  t.equal(got.url, `/v3/${P}/snapshots/${SNAP}`)
  t.equal(got.headers['x-auth-token'], member, 'X-Auth-Token unchanged')
  for (const name of ['x-roles', 'x-service-token', 'x_user_id', 'x-user-id', 'x-identity-status']) {
    t.notOk(name in got.headers, `${name} stripped`)
  }
  t.match(got.headers['x-openstack-request-id'], /^req-[0-9a-f-]{36}$/)

  const denied = await fetch(`${url}/v3/${P}/snapshots`,
    { method: 'POST', headers: { 'x-auth-token': reader, 'content-type': 'application/json' }, body: '{"snapshot":{"volume_id":"v"}}' })
  t.equal(denied.status, 403)
  t.same(await denied.json(), { forbidden: { code: 403, message: 'Policy doesn\'t allow evs:snapshots:create to be performed.' } })
  t.match(denied.headers.get('x-openstack-request-id'), /^req-/)
  const operatorDelete = await fetch(`${url}/v3/${P}/snapshots/${SNAP}`, { method: 'DELETE', headers: { 'x-auth-token': operator } })
  t.equal(operatorDelete.status, 403, 'snapshot-operator (policies) cannot delete')
  await operatorDelete.arrayBuffer()
  t.equal((await fetch(`${url}/v3/${P}/snapshots/${SNAP}`, { headers: { 'x-auth-token': operator } })).status, 200, 'but reads')

  const none = await fetch(`${url}/v3/${P}/snapshots`)
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Keystone uri="http://127.0.0.1:15000/v3"')
  t.same(await none.json(), { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } })

  const volumeNoToken = await fetch(`${url}/v3/${P}/volumes/detail`)
  t.equal(volumeNoToken.status, 401, 'an unmatched pass-through request still needs a valid token')
  await volumeNoToken.arrayBuffer()
  t.equal((await fetch(`${url}/v3/${P}/volumes/detail`, { headers: { 'x-auth-token': reader } })).status, 200)
  t.equal((await fetch(`${url}/`)).status, 300, 'the version document is forwarded without a token (it is public in Cinder)')

  const forwarded = backend.received.slice(before).map((r) => `${r.method} ${r.url}`)
  t.same(forwarded, [`PUT /v3/${P}/snapshots/${SNAP}`, `GET /v3/${P}/snapshots/${SNAP}`, `GET /v3/${P}/volumes/detail`, 'GET /'],
    'denied requests never reached the backend')

  const text = await (await fetch(metricsUrl as string)).text()
  t.match(text, /evs_authz_decisions_total\{decision="deny",reason="missing-action",route="\/v3\/\{project_id\}\/snapshots"\} 1/)
  t.match(text, /evs_authz_token_validations_total\{outcome="valid"\} 3/)
  t.match(text, /evs_authz_token_cache_lookups_total\{result="hit"\} \d+/)
  t.match(text, /evs_authz_token_validation_seconds_count 3/)
  t.equal((await fetch(metricsUrl!.replace('/metrics', '/other'))).status, 404)
  const outsideNoToken = await fetch(`${url}/metrics`)
  t.equal(outsideNoToken.status, 401, 'a path outside /v2 and /v3 needs a valid token too (only GET / is public)')
  await outsideNoToken.arrayBuffer()
  const outside = await fetch(`${url}/metrics`, { headers: { 'x-auth-token': reader } })
  t.equal(backend.received.at(-1)?.url, '/metrics',
    'with one, the proxied port forwards /metrics like any path: metrics live on their own listener')
  await outside.arrayBuffer()
  const postRoot = await fetch(`${url}/`, { method: 'POST' })
  t.equal(postRoot.status, 401, 'only GET and HEAD / are public')
  await postRoot.arrayBuffer()
})

t.test('healthz and readyz are answered by the gateway, never forwarded; readyz follows Keystone', async (t) => {
  const { gateway, url } = await started(keystoneConfig())
  t.teardown(() => gateway.stop())
  const before = backend.received.length
  t.same(await (await fetch(`${url}/healthz`)).json(), { status: 'alive' })
  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'ready', keystone: true, upstream: true })
  t.equal(backend.received.slice(before).filter((r) => r.url.includes('z')).length, 0, 'neither reached the backend')

  const down = await started(keystoneConfig({}, { url: 'http://127.0.0.1:9' }))
  t.teardown(() => down.gateway.stop())
  const notReady = await fetch(`${down.url}/readyz`)
  t.equal(notReady.status, 503)
  t.match(await notReady.json(), { status: 'not ready', keystone: false, upstream: true })
  const unavailable = await fetch(`${down.url}/v3/${P}/snapshots`, { headers: { 'x-auth-token': 'gAAAAAwhatever' } })
  t.equal(unavailable.status, 503)
  t.same(await unavailable.json(), { serviceUnavailable: { code: 503, message: 'The Keystone service is temporarily unavailable.' } })
})

t.test('forwardIdentityHeaders sets keystonemiddleware\'s headers from the validated token only', async (t) => {
  const { gateway, url } = await started(keystoneConfig({}, { forwardIdentityHeaders: true }))
  t.teardown(() => gateway.stop())
  const member = fake.add({ project: { id: P, name: 'evs-a' }, roles: ['member', 'reader'], userId: 'a-member' })
  await (await fetch(`${url}/v3/${P}/snapshots`,
    { headers: { 'x-auth-token': member, 'x-roles': 'admin', 'x-is-admin-project': 'True' } })).arrayBuffer()
  const got = backend.received.at(-1) as Received
  t.match(got.headers,
    { 'x-identity-status': 'Confirmed', 'x-user-id': 'a-member', 'x-project-id': P, 'x-project-name': 'evs-a', 'x-roles': 'member,reader' })
  t.notOk('x-is-admin-project' in got.headers)
})

t.test('defaultRoles: false leaves reader/member/admin unmapped (and Huawei roles keep their meaning)', async (t) => {
  const { gateway, url } = await started(keystoneConfig({}, { defaultRoles: false }))
  t.teardown(() => gateway.stop())
  const member = fake.add({ project: { id: P }, roles: ['member', 'reader'] })
  const huawei = fake.add({ project: { id: P }, roles: ['te_admin'] })
  t.equal((await fetch(`${url}/v3/${P}/snapshots`, { headers: { 'x-auth-token': member } })).status, 403)
  t.equal((await fetch(`${url}/v3/${P}/snapshots`, { headers: { 'x-auth-token': huawei } })).status, 200)
})

t.test('jwt identity: the demo scheme, algorithms pinned', async (t) => {
  const { createHmac } = await import('node:crypto')
  const secret = 'gateway-test-secret-0123456789abcdef'
  const sign = (claims: object): string => {
    const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
    const head = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`
    return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
  }
  const { gateway, url } = await started({ listen: { port: 0 }, upstream: backend.url, identity: { jwt: { secret } }, logLevel: 'silent' })
  t.teardown(() => gateway.stop())
  t.equal((await fetch(`${url}/v3/${P}/snapshots`,
    { headers: { 'x-auth-token': sign({ sub: 'u', project_id: P, roles: ['readonly'] }) } })).status, 200)
  t.equal((await fetch(`${url}/v3/${P}/snapshots`,
    { headers: { 'x-auth-token': sign({ sub: 'u', project_id: P, roles: ['member'] }) } })).status, 403,
  'no Keystone default roles with a JWT identity')
  t.equal((await fetch(`${url}/v3/${P}/snapshots`, { headers: { 'x-auth-token': 'not.a.jwt' } })).status, 401)
})

t.test('configuration errors: every problem listed, no secret echoed', async (t) => {
  const cases: Array<{ name: string, json: unknown, env?: NodeJS.ProcessEnv, expect: RegExp[] }> = [
    { name: 'not an object', json: [], expect: [/should be a JSON object/] },
    {
      name: 'many problems at once',
      json: {
        listen: { port: 'x' },
        upstream: 'ftp://b',
        identity: { keystone: { url: 'k', username: '', password: 'hunter2', projectName: 'p', cacheSeconds: -5, extra: 1 } },
        authz: { mode: 'loud', unmatched: 'maybe', bogus: 1 },
        metrics: 3,
        logLevel: 'chatty',
        spare: true
      },
      expect: [/spare: unknown key/, /listen.port/, /upstream/, /metrics/, /logLevel/, /identity.keystone.extra: unknown key/,
        /identity.keystone.url/, /identity.keystone.username/, /identity.keystone.cacheSeconds/, /authz.bogus/, /authz.mode/]
    },
    {
      name: 'both password and passwordEnv',
      json: {
        listen: { port: 1 },
        upstream: 'http://b',
        identity: { keystone: { url: 'http://k', username: 'u', password: 'x', passwordEnv: 'Y', projectName: 'p' } }
      },
      expect: [/password or passwordEnv, not both/]
    },
    {
      name: 'passwordEnv unset',
      json: {
        listen: { port: 1 },
        upstream: 'http://b',
        identity: { keystone: { url: 'http://k', username: 'u', passwordEnv: 'NOPE_UNSET', projectName: 'p' } }
      },
      expect: [/NOPE_UNSET is not set/]
    },
    { name: 'no identity', json: { listen: { port: 1 }, upstream: 'http://b' }, expect: [/identity: should be/] },
    {
      name: 'bad policy document',
      json: {
        listen: { port: 1 },
        upstream: 'http://b',
        identity: { jwt: { secret: 's' } },
        policies: { op: { Version: '9', Statement: 'x' } }
      },
      expect: [/policies\["op"\]/]
    },
    {
      name: 'bad plugin option',
      json: {
        listen: { port: 1 },
        upstream: 'http://b',
        identity: { jwt: { secret: 's' } },
        authz: { unmatched: 'maybe', prefix: 'evs/' }
      },
      expect: [/authz.unmatched/, /authz.prefix/]
    },
    {
      name: 'jwt algorithm mismatch',
      json: { listen: { port: 1 }, upstream: 'http://b', identity: { jwt: { secret: 's', algorithms: ['RS256'] } } },
      expect: [/HS\* algorithms go with a secret/]
    },
    {
      name: 'policy file missing',
      json: { listen: { port: 1 }, upstream: 'http://b', identity: { jwt: { secret: 's' } }, policies: { op: { file: 'missing.json' } } },
      expect: [/policies\["op"\].file: cannot read/]
    }
  ]
  for (const { name, json, env, expect } of cases) {
    let error: unknown
    try {
      parseGatewayConfig(json, tmpdir(), env ?? {})
    } catch (e) {
      error = e
    }
    t.ok(error instanceof GatewayConfigError, name)
    const message = (error as Error).message
    for (const pattern of expect) t.match(message, pattern, `${name}: ${String(pattern)}`)
    t.notMatch(message, /hunter2/, `${name}: no secret in the message`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'evs-gw-'))
  writeFileSync(join(dir, 'op.json'), JSON.stringify({ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:get'] }] }))
  writeFileSync(join(dir, 'gw.json'),
    JSON.stringify({
      listen: { port: 18801 },
      upstream: 'http://127.0.0.1:18802/',
      identity: { jwt: { secret: 's' } },
      policies: { op: { file: 'op.json' } }
    }))
  const loaded = loadGatewayConfig(join(dir, 'gw.json'))
  t.same(loaded.policies, { op: { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:get'] }] } },
    'policy files are read relative to the configuration')
  t.equal(loaded.upstream, 'http://127.0.0.1:18802')
  writeFileSync(join(dir, 'broken.json'), '{ nope')
  t.throws(() => loadGatewayConfig(join(dir, 'broken.json')), /not JSON/)
  t.throws(() => loadGatewayConfig(join(dir, 'absent.json')), /cannot read the file: ENOENT/)
})

t.test('request log lines carry the path, never the query (a query may carry a token)', async (t) => {
  const { Writable } = await import('node:stream')
  const { request } = await import('node:http')
  const lines: string[] = []
  const logStream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const config =
    parseGatewayConfig({
      listen: { port: 0 },
      upstream: backend.url,
      identity: { jwt: { secret: 'gateway-log-secret-0123456789' } },
      logLevel: 'info'
    }, tmpdir(), {})
  const gateway = await buildGateway(config, { logStream })
  const { url } = await gateway.start()
  t.teardown(() => gateway.stop())
  const { port } = new URL(url)
  // Absolute-form and origin-form targets, each with a token in the query.
  for (const path of [`http://127.0.0.1:${port}/v3/${P}/snapshots?X-Auth-Token=SECRET-IN-QUERY`, '/health?token=SECRET-IN-QUERY']) {
    await new Promise<void>((resolve) => {
      request({ host: '127.0.0.1', port: Number(port), path, method: 'GET' }, (res) => { res.resume(); res.on('end', resolve) }).end()
    })
  }
  t.ok(lines.some((line) => line.includes('incoming request')), 'request lines are logged')
  t.notOk(lines.some((line) => line.includes('SECRET-IN-QUERY')), 'no line carries the query')
})
