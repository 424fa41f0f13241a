// The gate reads each request the way the backend will (issue: method override in the query, `;`
// separators, encoded and duplicate parameters, form bodies, authority-form targets, mount paths). Every case
// runs as raw bytes over a socket against three real servers on 127.0.0.1 — the Fastify plugin, the Express 5
// middleware and the Express 4 middleware — each with a catch-all handler that records what reached it (URL and
// the framework's parsed query). The three must agree with each other and with the case.
import t from 'tap'
import { connect, type AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express, { type RequestHandler } from 'express'
import express4 from 'express4'
import Fastify, { type FastifyInstance } from 'fastify'
import evsAuthz, { type EvsAuthzOptions } from '../src/index.js'

/** The options both adapters take (no request-typed callbacks). */
type Options = Omit<EvsAuthzOptions, 'grants' | 'onDecision' | 'resolveEnterpriseProject'>
import { evsAuthzExpress } from '../src/express.js'

const P = '0123456789abcdef0123456789abcdef'
const Q = 'fedcba9876543210fedcba9876543210'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

interface Reached { readonly url: string, readonly query: Record<string, unknown> }
interface Line { readonly [field: string]: unknown }
interface Server3 {
  readonly name: string
  readonly port: number
  readonly reached: Reached[]
  readonly lines: Line[]
  close (): Promise<void>
}

const personas = {
  reader: { project_id: P, sub: 'reader', actions: ['evs:snapshots:get', 'evs:snapshots:list'] },
  full: { project_id: P, sub: 'full', actions: ['evs:*:*'] },
  other: { project_id: Q, sub: 'other', actions: ['evs:*:*'] }
} as const
type Persona = keyof typeof personas | 'none'

const claimsOf = (header: string | string[] | undefined): unknown => (typeof header === 'string' ? JSON.parse(header) : undefined)

async function fastifyServer (options: Options, scopePrefix = ''): Promise<Server3> {
  const reached: Reached[] = []
  const lines: Line[] = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (l: string) => { lines.push(JSON.parse(l) as Line) } } } })
  app.decorateRequest('user', null as unknown as object)
  app.addHook('onRequest', async (request) => { Reflect.set(request, 'user', claimsOf(request.headers['x-test-claims'])) })
  const routes = async (scope: FastifyInstance): Promise<void> => {
    await scope.register(evsAuthz, options)
    scope.all('/*', async (request) => {
      reached.push({ url: request.url, query: { ...(request.query as Record<string, unknown>) } })
      return { reached: true }
    })
  }
  // Fastify answers targets its router refuses itself; the catch-all must see every target it accepts.
  if (scopePrefix === '') await routes(app)
  else await app.register(routes, { prefix: scopePrefix })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    name: `fastify${scopePrefix}`,
    port: (app.server.address() as AddressInfo).port,
    reached,
    lines,
    close: async () => { await app.close() }
  }
}

async function expressServer (name: string, factory: () => express.Express, options: Options, mount = ''): Promise<Server3> {
  const reached: Reached[] = []
  const lines: Line[] = []
  const at = (level: number) => (fields: object, msg: string): void => { lines.push({ level, ...fields, msg }) }
  const application = factory()
  const auth: RequestHandler = (req, _res, next) => {
    Reflect.set(req, 'user', claimsOf(req.headers['x-test-claims']))
    next()
  }
  const record: RequestHandler = (req, res) => {
    reached.push({ url: mount === '' ? req.originalUrl : req.url, query: { ...req.query } })
    res.json({ reached: true })
  }
  const chain = [auth, evsAuthzExpress({ ...options, logger: { debug: at(20), info: at(30), error: at(50) } }), record]
  if (mount === '') application.use(...chain)
  else application.use(mount, ...chain)
  const server: Server = await new Promise((resolve) => { const s = application.listen(0, '127.0.0.1', () => resolve(s)) })
  return {
    name: `${name}${mount}`,
    port: (server.address() as AddressInfo).port,
    reached,
    lines,
    close: async () => { await new Promise((resolve) => server.close(resolve)) }
  }
}

async function servers (options: Options = {}): Promise<Server3[]> {
  return [await fastifyServer(options), await expressServer('express5', express, options),
    await expressServer('express4', express4 as unknown as () => express.Express, options)]
}

interface Answer { readonly status: number, readonly body: string }

/** Sends raw bytes (the target exactly as written) and reads the status line and body. */
async function send (port: number, method: string, target: string, persona: Persona, headers: readonly string[] = [],
  body = ''): Promise<Answer> {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers]
  if (persona !== 'none') lines.push(`X-Test-Claims: ${JSON.stringify(personas[persona])}`)
  if (body !== '' || method === 'POST' || method === 'PUT') lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  const raw = `${lines.join('\r\n')}\r\n\r\n${body}`
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(raw))
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('error', reject)
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)
      const split = data.indexOf('\r\n\r\n')
      resolve({ status, body: split === -1 ? '' : data.slice(split + 4) })
    })
  })
}

interface Case {
  readonly name: string
  readonly method: string
  readonly target: string
  readonly persona: Persona
  readonly headers?: readonly string[]
  readonly body?: string
  readonly status: number
  /** The denial reason (and a detail fragment) of the decision line. */
  readonly reason?: string
  readonly detail?: string
  /** For a 200: the URL the handler (and so a proxy) received. */
  readonly forwarded?: string
  /** For a 200: parameter names the framework's parsed query must not have. */
  readonly queryLacks?: readonly string[]
}

const snap = `/v3/${P}/snapshots/${S}`
const list = `/v3/${P}/snapshots`

const cases: Case[] = [
  // 1. Routes' method override: `_method` in the raw query string becomes the method the route is matched with.
  {
    name: '_method in the query',
    method: 'GET',
    target: `${snap}?_method=DELETE`,
    persona: 'reader',
    status: 400,
    reason: 'method-override',
    detail: '_method query parameter'
  },
  {
    name: '_method after ;',
    method: 'GET',
    target: `${snap}?x=1;_method=delete`,
    persona: 'reader',
    status: 400,
    reason: 'method-override'
  },
  {
    name: '_method percent-encoded',
    method: 'GET',
    target: `${snap}?%5Fmethod=DELETE`,
    persona: 'reader',
    status: 400,
    reason: 'method-override'
  },
  {
    name: '_method in another case',
    method: 'GET',
    target: `${snap}?_METHOD=DELETE`,
    persona: 'reader',
    status: 400,
    reason: 'method-override'
  },
  {
    name: '_method inside a value (raw query mentions it)',
    method: 'GET',
    target: `${list}?name=a_method_b`,
    persona: 'reader',
    status: 400,
    reason: 'method-override'
  },
  { name: 'HEAD with _method', method: 'HEAD', target: `${snap}?_method=DELETE`, persona: 'full', status: 400, reason: 'method-override' },
  {
    name: 'an override header names itself',
    method: 'POST',
    target: list,
    persona: 'full',
    headers: ['X-HTTP-Method-Override: DELETE', 'Content-Type: application/json'],
    body: '{}',
    status: 400,
    reason: 'method-override',
    detail: 'x-http-method-override header'
  },
  // Routes reads `_method` from form-encoded POST bodies too; Cinder takes JSON only.
  {
    name: 'form-encoded body',
    method: 'POST',
    target: `${snap}/action`,
    persona: 'full',
    headers: ['Content-Type: application/x-www-form-urlencoded'],
    body: '_method=DELETE',
    status: 400,
    reason: 'malformed-body'
  },
  {
    name: 'multipart body',
    method: 'POST',
    target: list,
    persona: 'full',
    headers: ['Content-Type: multipart/form-data; boundary=b'],
    body: '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n',
    status: 400,
    reason: 'malformed-body'
  },
  {
    name: 'form type in another case',
    method: 'POST',
    target: list,
    persona: 'full',
    headers: ['Content-Type: Application/X-WWW-Form-Urlencoded'],
    body: '_method=DELETE',
    status: 400,
    reason: 'malformed-body'
  },
  // Node keeps the first Content-Type, a WSGI server the last: two readings of one body.
  {
    name: 'two Content-Type headers',
    method: 'POST',
    target: list,
    persona: 'full',
    headers: ['Content-Type: application/json', 'Content-Type: application/x-www-form-urlencoded'],
    body: '{}',
    status: 400,
    reason: 'malformed-body',
    detail: 'several Content-Type headers'
  },
  {
    name: 'a JSON body passes',
    method: 'POST',
    target: list,
    persona: 'full',
    headers: ['Content-Type: application/json'],
    body: '{"snapshot":{"volume_id":"v"}}',
    status: 200,
    forwarded: list
  },
  // 2. Cross-project parameters in every spelling webob (or a qs-style parser) reads: stripped, the rest kept.
  {
    name: 'all_tenants after ;',
    method: 'GET',
    target: `${list}?limit=5;all_tenants=1`,
    persona: 'reader',
    status: 200,
    forwarded: `${list}?limit=5`,
    queryLacks: ['all_tenants']
  },
  {
    name: 'all_tenants after a leading ;',
    method: 'GET',
    target: `${list}?;all_tenants=1`,
    persona: 'reader',
    status: 200,
    forwarded: list,
    queryLacks: ['all_tenants']
  },
  {
    name: 'all_tenants percent-encoded',
    method: 'GET',
    target: `${list}?all%5Ftenants=1&limit=2`,
    persona: 'reader',
    status: 200,
    forwarded: `${list}?limit=2`,
    queryLacks: ['all_tenants', 'all%5Ftenants']
  },
  {
    name: 'ALL_TENANTS',
    method: 'GET',
    target: `${list}?ALL_TENANTS=1`,
    persona: 'reader',
    status: 200,
    forwarded: list,
    queryLacks: ['ALL_TENANTS']
  },
  {
    name: 'all_tenants[] (qs bracket form)',
    method: 'GET',
    target: `${list}/detail?all_tenants[]=1&name=x`,
    persona: 'reader',
    status: 200,
    forwarded: `${list}/detail?name=x`,
    queryLacks: ['all_tenants', 'all_tenants[]']
  },
  {
    name: 'all_projects with + in a value kept',
    method: 'GET',
    target: `${list}?name=a+b&all_projects=1`,
    persona: 'reader',
    status: 200,
    forwarded: `${list}?name=a+b`,
    queryLacks: ['all_projects']
  },
  {
    name: 'duplicates, all stripped',
    method: 'GET',
    target: `${list}?all_tenants=0&all_tenants=1;all_tenants=2`,
    persona: 'reader',
    status: 200,
    forwarded: list,
    queryLacks: ['all_tenants']
  },
  { name: 'an undecodable query', method: 'GET', target: `${list}?name=%ff`, persona: 'reader', status: 400, reason: 'malformed-query' },
  // 4. Authority forms: a WHATWG-resolving forwarder reads the first segment as a host and sends `/v3/...` on.
  {
    name: '//host:port/v3/...',
    method: 'GET',
    target: `//127.0.0.1:1${snap}`,
    persona: 'none',
    status: 400,
    reason: 'malformed-path',
    detail: 'authority-form'
  },
  {
    name: '/\\host:port/v3/...',
    method: 'GET',
    target: `/\\127.0.0.1:1${snap}`,
    persona: 'none',
    status: 400,
    reason: 'malformed-path',
    detail: 'authority-form'
  },
  { name: '\\/ and more slashes', method: 'GET', target: `/\\//evil/x${snap}`, persona: 'none', status: 400, reason: 'malformed-path' },
  {
    name: '//host/health stays outside',
    method: 'GET',
    target: '//127.0.0.1:1/health',
    persona: 'none',
    status: 200,
    forwarded: '//127.0.0.1:1/health'
  },
  // 8. Logged paths never carry a query (an absolute-form target may hold a token in it).
  {
    name: 'absolute form with a token in the query',
    method: 'GET',
    target: `http://h${snap}?X-Auth-Token=SECRET-IN-QUERY`,
    persona: 'none',
    status: 400,
    reason: 'malformed-path',
    detail: 'not-origin-form'
  },
  // 9. Bounded cost: long guarded-looking targets are refused before the lenient reading runs.
  {
    name: 'a very long guarded-looking target',
    method: 'GET',
    target: `/x/${'%2e%2e/'.repeat(1400)}v3/${P}/snapshots`,
    persona: 'none',
    status: 400,
    reason: 'malformed-path',
    detail: 'too-long'
  },
  {
    name: 'just past the lenient limit, with an escape',
    method: 'GET',
    target: `/files/${'a'.repeat(250)}%20b`,
    persona: 'none',
    status: 400,
    reason: 'malformed-path',
    detail: 'too-long'
  },
  {
    name: 'a long outside path without escapes stays outside',
    method: 'GET',
    target: `/files/${'a'.repeat(400)}`,
    persona: 'none',
    status: 200,
    forwarded: `/files/${'a'.repeat(400)}`
  },
  {
    name: 'a long path of another API that mentions a version, without escapes, is read and stays outside',
    method: 'GET',
    target: `/image/v2/images/${S}/tags/${'t'.repeat(300)}`,
    persona: 'none',
    status: 200,
    forwarded: `/image/v2/images/${S}/tags/${'t'.repeat(300)}`
  },
  {
    name: 'a long path without escapes that reaches the guarded space is read, and refused',
    method: 'GET',
    target: `/x/${'a'.repeat(300)}/../v2/${P}/snapshots`,
    persona: 'none',
    status: 400,
    reason: 'malformed-path',
    detail: 'dot-segment'
  },
  {
    name: 'a long outside path at the limit is read, and stays outside',
    method: 'GET',
    target: `/files/${'a'.repeat(245)}%20b`,
    persona: 'none',
    status: 200,
    forwarded: `/files/${'a'.repeat(245)}%20b`
  },
  // Plainly guarded paths never need the lenient reading, so their length is not limited by it.
  {
    name: 'a long plainly guarded path is judged as usual',
    method: 'GET',
    target: `${snap}/metadata/${'k'.repeat(250)}`,
    persona: 'reader',
    status: 200,
    forwarded: `${snap}/metadata/${'k'.repeat(250)}`
  }
]

function decisionOf (server: Server3): Line | undefined {
  return server.lines.filter((l) => l['msg'] === 'evs-authz decision').at(-1)
}

t.test('every channel of the backend reading, through Fastify, Express 5 and Express 4', async (t) => {
  const all = await servers()
  t.teardown(async () => { for (const s of all) await s.close() })
  for (const c of cases) {
    for (const server of all) {
      const before = server.reached.length
      const linesBefore = server.lines.length
      const answer = await send(server.port, c.method, c.target, c.persona, c.headers ?? [], c.body ?? '')
      const label = `${server.name}: ${c.name}`
      t.equal(answer.status, c.status, `${label}: status`)
      const decision = server.lines.length > linesBefore ? decisionOf(server) : undefined
      if (c.reason !== undefined) {
        t.equal(server.reached.length, before, `${label}: never reaches the handler`)
        t.match(decision, { decision: 'deny', reason: c.reason }, `${label}: decision line`)
        if (c.detail !== undefined) t.match(String(decision?.['detail']), c.detail, `${label}: detail`)
      }
      if (c.forwarded !== undefined) {
        t.equal(server.reached.length, before + 1, `${label}: reaches the handler once`)
        t.equal(server.reached.at(-1)?.url, c.forwarded, `${label}: forwarded URL`)
        for (const name of c.queryLacks ?? []) {
          t.notOk(Object.hasOwn(server.reached.at(-1)?.query ?? {}, name), `${label}: parsed query lacks ${name}`)
        }
      }
      // Our decision lines only (Fastify's own request log line shows the URL as received).
      for (const line of server.lines.slice(linesBefore).filter((l) => l['msg'] === 'evs-authz decision')) {
        t.notMatch(JSON.stringify(line), 'SECRET-IN-QUERY', `${label}: no query in the decision line`)
      }
    }
  }
})

t.test('a value that hides a ;-joined all_tenants loses it in the parsed query too', async (t) => {
  const all = await servers()
  t.teardown(async () => { for (const s of all) await s.close() })
  for (const server of all) {
    await send(server.port, 'GET', `${list}?limit=5;all_tenants=1`, 'reader')
    const query = server.reached.at(-1)?.query ?? {}
    // Fastify's and qs's parsers split on & only: `limit` would read "5;all_tenants=1".
    t.equal(query['limit'], '5', `${server.name}: limit`)
    t.notMatch(JSON.stringify(query), 'all_tenants', `${server.name}: no all_tenants anywhere in the parsed query`)
  }
})

t.test("crossProjectQuery: 'deny' refuses every spelling", async (t) => {
  const all = await servers({ crossProjectQuery: 'deny' })
  t.teardown(async () => { for (const s of all) await s.close() })
  for (const query of ['limit=5;all_tenants=1', 'all%5Ftenants=1', 'All_Projects=1', 'all_tenants[]=1', ';all_tenants']) {
    for (const server of all) {
      const answer = await send(server.port, 'GET', `${list}?${query}`, 'reader')
      t.equal(answer.status, 403, `${server.name}: ?${query}`)
      t.match(decisionOf(server), { reason: 'cross-project-query' })
    }
  }
})

t.test("unmatched: 'pass' requests are refused a method override too", async (t) => {
  const all = await servers({ unmatched: 'pass' })
  t.teardown(async () => { for (const s of all) await s.close() })
  for (const server of all) {
    const overridden = await send(server.port, 'GET', `/v3/${P}/volumes/v1?_method=DELETE`, 'reader')
    t.equal(overridden.status, 400, `${server.name}: _method on a non-snapshot route`)
    const form = await send(server.port, 'POST', `/v3/${P}/volumes/v1/action`, 'reader',
      ['Content-Type: application/x-www-form-urlencoded'], '_method=DELETE')
    t.equal(form.status, 400, `${server.name}: form body on a non-snapshot route`)
    const plain = await send(server.port, 'GET', `/v3/${P}/volumes/v1`, 'reader')
    t.equal(plain.status, 200, `${server.name}: the same read without override passes`)
  }
})

t.test('audit mode strips cross-project parameters from denials it lets through', async (t) => {
  const all = await servers({ mode: 'audit' })
  t.teardown(async () => { for (const s of all) await s.close() })
  for (const server of all) {
    const answer = await send(server.port, 'GET', `/v3/${Q}/snapshots?all_tenants=1;limit=1`, 'reader')
    t.equal(answer.status, 200, `${server.name}: audit lets it through`)
    t.match(decisionOf(server), { decision: 'deny', reason: 'project-mismatch', mode: 'audit' })
    t.equal(server.reached.at(-1)?.url, `/v3/${Q}/snapshots?limit=1`, `${server.name}: forwarded without all_tenants`)
  }
})

t.test('mounted below a path, requests are judged, never passed unjudged', async (t) => {
  const mounted = [
    await fastifyServer({}, '/evs'),
    await expressServer('express5', express, {}, '/evs'),
    await expressServer('express4', express4 as unknown as () => express.Express, {}, '/evs')
  ]
  t.teardown(async () => { for (const s of mounted) await s.close() })
  for (const server of mounted) {
    const anonymous = await send(server.port, 'DELETE', `/evs${snap}`, 'none')
    t.equal(anonymous.status, 401, `${server.name}: no token → 401`)
    const reader = await send(server.port, 'DELETE', `/evs${snap}`, 'reader')
    t.equal(reader.status, 403, `${server.name}: reader cannot delete`)
    const allowed = await send(server.port, 'GET', `/evs${snap}`, 'reader')
    t.equal(allowed.status, 200, `${server.name}: reader can read`)
    // Past 256 characters the full URL is still read (no escapes), so the mount-relative one is judged as above.
    const longKey = `/evs${snap}/metadata/${'k'.repeat(250)}`
    const long = await send(server.port, 'GET', longKey, 'reader')
    t.equal(long.status, 200, `${server.name}: a long metadata key (${longKey.length} characters)`)
    t.equal((await send(server.port, 'DELETE', longKey, 'reader')).status, 403, `${server.name}: and it is still judged`)
    t.equal(server.reached.length, 2, `${server.name}: only the allowed requests reached the handler`)
  }
})

t.test('a Fastify prefix outside the scope the plugin is registered in refuses to start', async (t) => {
  const app = Fastify()
  app.register(async (scope) => { await scope.register(evsAuthz, { prefix: '/other' }) }, { prefix: '/evs' })
  await t.rejects(async () => { await app.ready() }, { code: 'EVS_AUTHZ_ERR_OPTIONS', message: /scope with prefix '\/evs'/ })
  const inside = Fastify()
  inside.register(async (scope) => { await scope.register(evsAuthz, { prefix: '/evs/region1' }) }, { prefix: '/evs' })
  await t.resolves(async () => { await inside.ready() }, 'a prefix below the scope is accepted')
  await inside.close()
})
