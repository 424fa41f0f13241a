// `evs-authz gateway`: a URL Fastify's router refuses (invalid percent-encoding) is answered like any
// malformed path, in the API family's envelope with a decision line, and never reaches the backend.
import t from 'tap'
import { Writable } from 'node:stream'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { buildGateway } from '../../src/gateway/server.js'
import { parseGatewayConfig } from '../../src/gateway/config.js'
import { startFakeKeystone } from '../identity/fake-keystone.js'

const P = '0123456789abcdef0123456789abcdef'

t.test('router-refused URLs: the envelope, a decision line, nothing upstream', async (t) => {
  const fake = await startFakeKeystone()
  t.teardown(() => fake.close())
  let reached = 0
  const backend = createServer((_req, res) => { reached++; res.end('{}') })
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => backend.close(resolve)))
  const lines: Array<Record<string, unknown>> = []
  const logStream = new Writable({
    write (chunk: Buffer, _e, cb) {
      for (const line of chunk.toString().split('\n').filter((l) => l !== '')) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    }
  })
  const config = parseGatewayConfig({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: `http://127.0.0.1:${(backend.address() as AddressInfo).port}`,
    identity: {
      keystone: {
        url: fake.url,
        publicUrl: 'http://127.0.0.1:15000/v3',
        username: fake.user.username,
        passwordEnv: 'GW_PW',
        projectName: 'service'
      }
    },
    authz: { prefix: '/evs' },
    logLevel: 'info'
  }, tmpdir(), { GW_PW: fake.user.password })
  const gateway = await buildGateway(config, { logStream })
  const { url } = await gateway.start()
  t.teardown(() => gateway.stop())
  const cases: ReadonlyArray<[string, unknown]> = [
    [`/evs/v3/${P}/snapshots/%c0%af`, { badRequest: { code: 400, message: 'Malformed request url' } }],
    [`/evs/v2/${P}/cloudsnapshots/%ff`, { error: { code: 'EVS.5400', message: 'Malformed request url' } }]
  ]
  for (const [path, body] of cases) {
    const response = await fetch(`${url}${path}`)
    t.same([response.status, await response.json()], [400, body], path)
    const requestId = response.headers.get('x-openstack-request-id')
    t.ok(lines.some((l) => l['msg'] === 'evs-authz decision' && l['reason'] === 'malformed-path' && l['requestId'] === requestId),
      `${path}: decision line`)
  }
  t.equal(reached, 0, 'nothing reached the backend')
})
