import t from 'tap'
import fc from 'fast-check'
import { IDENTITY_HEADERS, isClientIdentityHeader, stripIdentityHeaders } from '../src/forwarding.js'

// How a WSGI server names a header: `X-Roles`, `x_roles` and `X_ROLES` all become HTTP_X_ROLES.
const spellings = (name: string): string[] => [
  name, name.toUpperCase(), name.replaceAll('-', '_'), name.toUpperCase().replaceAll('-', '_'),
  name.split('-').map((w) => (w === '' ? w : (w[0] ?? '').toUpperCase() + w.slice(1))).join('-')
]

// keystonemiddleware's remove_auth_headers(): the templates for the user ('') and service ('-Service') prefixes.
const templates = ['Domain-Id', 'Domain-Name', 'Project-Id', 'Project-Name', 'Project-Domain-Id', 'Project-Domain-Name',
  'User-Id', 'User-Name', 'User-Domain-Id', 'User-Domain-Name', 'Roles']
const keystonemiddlewareHeaders = [
  'X-Service-Catalog', 'X-Identity-Status', 'X-Service-Identity-Status', 'X-Is-Admin-Project', 'OpenStack-System-Scope',
  'X-Role', 'X-User', 'X-Tenant-Id', 'X-Tenant-Name', 'X-Tenant',
  ...templates.flatMap((tmpl) => [`X-${tmpl}`, `X-Service-${tmpl}`])
]

t.test('every header keystonemiddleware sets is stripped, in every WSGI spelling', async (t) => {
  for (const header of keystonemiddlewareHeaders) {
    for (const spelling of spellings(header)) t.ok(isClientIdentityHeader(spelling), spelling)
  }
  t.equal(new Set(IDENTITY_HEADERS).size, IDENTITY_HEADERS.length, 'no duplicates in the published list')
})

t.test('X-Service-* (service tokens) and Expect are dropped; ordinary headers are kept', async (t) => {
  for (const name of ['X-Service-Token', 'x_service_anything', 'Expect', 'EXPECT']) t.ok(isClientIdentityHeader(name), name)
  for (const name of ['x-auth-token', 'content-type', 'openstack-api-version', 'x-openstack-request-id', 'host', 'x-services']) {
    t.notOk(isClientIdentityHeader(name), name)
  }
  const forwarded =
    stripIdentityHeaders({ 'x-auth-token': 'tok', X_Roles: 'admin', 'x-project-id': 'p', expect: '100-continue', accept: '*/*' })
  t.same(forwarded, { 'x-auth-token': 'tok', accept: '*/*' })
})

t.test('property: a header survives exactly when its WSGI key is not an identity key', async (t) => {
  const wsgi = (name: string): string => name.toUpperCase().replaceAll('-', '_')
  const identityKeys = new Set([...keystonemiddlewareHeaders, 'Expect'].map(wsgi))
  const names = fc.oneof(fc.constantFrom(...keystonemiddlewareHeaders.flatMap(spellings)), fc.stringMatching(/^[A-Za-z_-]{1,24}$/))
  fc.assert(fc.property(fc.uniqueArray(names, { maxLength: 12 }), (list) => {
    const headers = Object.fromEntries(list.map((n) => [n, 'v']))
    const kept = Object.keys(stripIdentityHeaders(headers))
    for (const name of list) {
      const expectedDropped = identityKeys.has(wsgi(name)) || wsgi(name).startsWith('X_SERVICE_')
      if (kept.includes(name) === expectedDropped) return false
    }
    return true
  }), { numRuns: 2000 })
  t.pass('agrees with the WSGI-key model')
})

t.test('the demo gateway forwards without client identity headers, and curl\'s Expect: 100-continue works', async (t) => {
  const { createServer } = await import('node:http')
  const { connect } = await import('node:net')
  const { buildGateway } = await import('../examples/gateway.js')
  const received: Array<Record<string, unknown>> = []
  const backend = createServer((req, res) => {
    received.push({ ...req.headers })
    req.resume()
    req.on('end', () => { res.writeHead(202, { 'content-type': 'application/json' }).end('{"snapshot":{}}') })
  })
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  const port = (backend.address() as { port: number }).port
  const gateway = await buildGateway({ upstream: `http://127.0.0.1:${port}`, secret: 'forwarding-test-secret-0123456789' })
  await gateway.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await gateway.close()
    backend.closeAllConnections()
    await new Promise((resolve) => backend.close(resolve))
  })
  const P = '0123456789abcdef0123456789abcdef'
  const token = (gateway as unknown as { jwt: { sign: (p: object) => string } }).jwt.sign({ sub: 'u', project_id: P, actions: ['evs:*:*'] })
  const body = '{"snapshot":{"volume_id":"v1"}}'
  const raw = [`POST /v2/${P}/snapshots HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `X-Auth-Token: ${token}`,
    'Content-Type: application/json', `Content-Length: ${body.length}`, 'Expect: 100-continue',
    'X-Roles: admin', 'X_Project_Id: other', 'X-Service-Roles: service', 'OpenStack-System-Scope: all', 'X-Is-Admin-Project: True', '',
    ''].join('\r\n')
  const gatewayPort = (gateway.server.address() as { port: number }).port
  const answer: string = await new Promise((resolve, reject) => {
    const socket = connect(gatewayPort, '127.0.0.1')
    let data = ''
    let sentBody = false
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      data += chunk
      // A client that sent Expect waits for 100 Continue before the body, as curl does.
      if (!sentBody && data.includes('100 Continue')) {
        sentBody = true
        socket.write(body)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(data))
    socket.write(raw)
    setTimeout(() => { if (!sentBody) { sentBody = true; socket.write(body) } }, 1000)
  })
  t.match(answer, /HTTP\/1\.1 202/, 'the create reaches the backend and its answer comes back')
  t.notMatch(answer, /connection: keep-alive/i, "the upstream's hop-by-hop headers are not copied over the client's Connection: close")
  t.equal(received.length, 1)
  const headers = Object.keys(received[0] ?? {})
  for (const name of ['x-roles', 'x_project_id', 'x-service-roles', 'openstack-system-scope', 'x-is-admin-project', 'expect']) {
    t.notOk(headers.includes(name), `${name} is not forwarded`)
  }
})
