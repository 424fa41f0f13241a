// Enterprise-project resolution on its own: the built-in upstream resolver against a real HTTP server on
// 127.0.0.1 (found, unknown, failed, timeout, non-JSON, huge bodies, hostile ids, what is sent upstream),
// and the cached, timed lookup the adapters use (LRU, TTL, what is never cached). Every failure must come
// out as a failure, never as an enterprise project.
import t from 'tap'
import fc from 'fast-check'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createEnterpriseProjectLookup, upstreamEnterpriseProjectResolver,
  type ResolveEnterpriseProject, type UpstreamResolverOptions
} from '../src/enterprise-resolution.js'
import type { EnterpriseProjectLookup, EnterpriseProjectResolution } from '../src/core/enterprise/enterprise.js'
import { buildApp, nextRequestId } from './fixtures/app.js'

const P = '0123456789abcdef0123456789abcdef'
const SERVICE_TOKEN = 'service-token-7f3a'
const CALLER_TOKEN = 'caller-token-91bd'

// --- a real upstream on 127.0.0.1 ---------------------------------------------------------------------------------

interface Seen { readonly method: string, readonly url: string, readonly headers: IncomingHttpHeaders }
type Handler = (request: IncomingMessage, response: ServerResponse) => void

const seen: Seen[] = []
let handler: Handler = (_request, response) => { response.writeHead(500).end() }
const upstream = createServer((request, response) => {
  seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers })
  handler(request, response)
})
let base = ''

t.before(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})
t.teardown(async () => {
  upstream.closeAllConnections()
  await new Promise<void>((resolve) => upstream.close(() => { resolve() }))
})

/** Answers like EVS from a map of path → JSON body (404 otherwise). */
function evsLike (bodies: Readonly<Record<string, unknown>>): Handler {
  return (request, response) => {
    const path = request.url ?? ''
    if (!Object.hasOwn(bodies, path)) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"itemNotFound":{"code":404}}')
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(bodies[path]))
  }
}

function resolver (options: Partial<UpstreamResolverOptions> = {}): ResolveEnterpriseProject<unknown> {
  return upstreamEnterpriseProjectResolver({ upstream: base, token: SERVICE_TOKEN, ...options })
}

const callerRequest = { headers: { 'x-auth-token': CALLER_TOKEN, authorization: `Bearer ${CALLER_TOKEN}` } }
const ask = async (resolve: ResolveEnterpriseProject<unknown>, kind: 'snapshot' | 'volume', id: string): Promise<string | undefined> =>
  await resolve({ kind, id, projectId: P, request: callerRequest })

const volumePath = (id: string): string => `/v2/${P}/cloudvolumes/${id}`
const snapshotPath = (id: string): string => `/v2/${P}/cloudsnapshots/${id}`

// [case, upstream bodies, kind, id, expected EP, expected paths asked]
type Answer = [string, Record<string, unknown>, 'snapshot' | 'volume', string, string | undefined, string[]]
const answers: Answer[] = [
  ['a volume\'s EP', { [volumePath('v1')]: { volume: { id: 'v1', enterprise_project_id: 'ep-a' } } }, 'volume', 'v1', 'ep-a',
    [volumePath('v1')]],
  ['a snapshot\'s EP is its source volume\'s',
    {
      [snapshotPath('s1')]: { snapshot: { id: 's1', volume_id: 'v1' } },
      [volumePath('v1')]: { volume: { enterprise_project_id: 'ep-b' } }
    },
    'snapshot', 's1', 'ep-b', [snapshotPath('s1'), volumePath('v1')]],
  ['an unknown volume', {}, 'volume', 'nope', undefined, [volumePath('nope')]],
  ['an unknown snapshot asks no volume', {}, 'snapshot', 'nope', undefined, [snapshotPath('nope')]],
  ['a snapshot whose volume is gone', { [snapshotPath('s1')]: { snapshot: { volume_id: 'v-gone' } } }, 'snapshot', 's1', undefined,
    [snapshotPath('s1'), volumePath('v-gone')]],
  ['a snapshot without volume_id', { [snapshotPath('s1')]: { snapshot: { id: 's1' } } }, 'snapshot', 's1', undefined, [snapshotPath('s1')]],
  ['an empty volume_id', { [snapshotPath('s1')]: { snapshot: { volume_id: '' } } }, 'snapshot', 's1', undefined, [snapshotPath('s1')]],
  ['a volume without an EP', { [volumePath('v1')]: { volume: { id: 'v1' } } }, 'volume', 'v1', undefined, [volumePath('v1')]],
  ['an empty EP', { [volumePath('v1')]: { volume: { enterprise_project_id: '' } } }, 'volume', 'v1', undefined, [volumePath('v1')]],
  ['a numeric EP is no id', { [volumePath('v1')]: { volume: { enterprise_project_id: 0 } } }, 'volume', 'v1', undefined,
    [volumePath('v1')]],
  ['an EP object is no id', { [volumePath('v1')]: { volume: { enterprise_project_id: { id: 'ep-a' } } } }, 'volume', 'v1', undefined,
    [volumePath('v1')]],
  ['a volume wrapper that is not an object', { [volumePath('v1')]: { volume: 'ep-a' } }, 'volume', 'v1', undefined, [volumePath('v1')]],
  ['a JSON null body', { [volumePath('v1')]: null }, 'volume', 'v1', undefined, [volumePath('v1')]],
  ['a JSON array body', { [volumePath('v1')]: [{ volume: { enterprise_project_id: 'ep-a' } }] }, 'volume', 'v1', undefined,
    [volumePath('v1')]],
  ['the EP under another wrapper', { [volumePath('v1')]: { snapshot: { enterprise_project_id: 'ep-a' } } }, 'volume', 'v1', undefined,
    [volumePath('v1')]]
]

t.test('the upstream resolver reads EPs the way EVS answers them', async (t) => {
  for (const [name, bodies, kind, id, expected, paths] of answers) {
    handler = evsLike(bodies)
    seen.length = 0
    t.equal(await ask(resolver(), kind, id), expected, name)
    t.same(seen.map((s) => `${s.method} ${s.url}`), paths.map((p) => `GET ${p}`), `${name}: what was asked`)
  }
})

t.test('only the service token goes upstream, never the caller\'s', async (t) => {
  handler = evsLike({ [volumePath('v1')]: { volume: { enterprise_project_id: 'ep-a' } } })
  const tokens = ['rotated-1', 'rotated-2']
  const cases: Array<[string, UpstreamResolverOptions['token'], string[]]> = [
    ['a fixed token', SERVICE_TOKEN, [SERVICE_TOKEN, SERVICE_TOKEN]],
    ['a token function, asked per call (rotation)', () => tokens.shift() ?? 'none', ['rotated-1', 'rotated-2']],
    ['an async token function', async () => await Promise.resolve(SERVICE_TOKEN), [SERVICE_TOKEN, SERVICE_TOKEN]]
  ]
  for (const [name, token, expected] of cases) {
    seen.length = 0
    const resolve = resolver({ token })
    await ask(resolve, 'volume', 'v1')
    await ask(resolve, 'volume', 'v1')
    t.same(seen.map((s) => s.headers['x-auth-token']), expected, `${name}: X-Auth-Token`)
    for (const request of seen) {
      t.equal(request.headers.authorization, undefined, `${name}: no Authorization header`)
      t.notMatch(JSON.stringify(request.headers), CALLER_TOKEN, `${name}: the caller's token is nowhere in the headers`)
      t.equal(request.headers.accept, 'application/json', `${name}: asks for JSON`)
      t.equal(request.headers['content-length'] ?? '0', '0', `${name}: sends no body`)
    }
  }
  await t.rejects(ask(resolver({ token: async () => { throw new Error('vault down') } }), 'volume', 'v1'), /vault down/,
    'a failing token source fails the lookup')
})

t.test('the upstream base may carry a path and trailing slashes', async (t) => {
  handler = evsLike({ [`/evs${volumePath('v1')}`]: { volume: { enterprise_project_id: 'ep-a' } } })
  for (const suffix of ['/evs', '/evs/', '/evs///']) {
    seen.length = 0
    t.equal(await ask(resolver({ upstream: `${base}${suffix}` }), 'volume', 'v1'), 'ep-a', suffix)
    t.same(seen.map((s) => s.url), [`/evs${volumePath('v1')}`], `${suffix}: one clean path`)
  }
})

t.test('upstream errors, non-JSON and huge bodies fail the lookup; none yields an EP', async (t) => {
  const statusOnly = (status: number): Handler => (_request, response) => { response.writeHead(status).end() }
  const body = (type: string, text: string): Handler => (_request, response) => {
    response.writeHead(200, { 'content-type': type }).end(text)
  }
  // [case, handler, expected rejection]
  const failures: Array<[string, Handler, RegExp]> = [
    ['401', statusOnly(401), /upstream answered 401/],
    ['403', statusOnly(403), /upstream answered 403/],
    ['500', statusOnly(500), /upstream answered 500/],
    ['503', statusOnly(503), /upstream answered 503/],
    ['a redirect to nowhere', (_request, response) => { response.writeHead(302, { location: 'http://127.0.0.1:9/' }).end() }, /./],
    ['HTML', body('text/html', '<html>volume enterprise_project_id ep-a</html>'), /JSON|Unexpected/],
    ['truncated JSON', body('application/json', '{"volume":{"enterprise_project_id":"ep-a"'), /JSON|Unexpected|end/],
    ['an empty 200', body('application/json', ''), /JSON|Unexpected|end/],
    ['a huge non-JSON body', body('application/json', `{"volume":[${'x'.repeat(4 * 1024 * 1024)}`), /JSON|Unexpected|token/],
    ['a connection cut mid-body', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      response.write('{"volume":{"enterprise_project_id":"ep-a"')
      response.destroy()
    }, /./]
  ]
  for (const [name, failure, expected] of failures) {
    handler = failure
    await t.rejects(ask(resolver(), 'volume', 'v1'), expected, name)
  }
  // An upstream answering a valid but huge document is still read (it is the operator's own EVS endpoint).
  handler = body('application/json', JSON.stringify({ volume: { enterprise_project_id: 'ep-big', padding: 'p'.repeat(2 * 1024 * 1024) } }))
  t.equal(await ask(resolver(), 'volume', 'v1'), 'ep-big', 'a 2 MB document')
})

t.test('a silent upstream times out: the lookup fails, it never hangs', async (t) => {
  const held: ServerResponse[] = []
  handler = (_request, response) => { held.push(response) }
  await t.rejects(ask(resolver({ timeout: 150 }), 'volume', 'v1'), { name: 'TimeoutError' })
  t.equal(held.length, 1, 'the request was held, not refused')
  for (const response of held) response.destroy()
  await t.rejects(ask(upstreamEnterpriseProjectResolver({ upstream: 'http://127.0.0.1:9', token: 't', timeout: 500 }), 'volume', 'v1'),
    'a closed port')
})

t.test('property: a hostile id stays one path segment under the resource collection', async (t) => {
  const hostileIds = fc.oneof(
    fc.constantFrom('../../v3/admin', '..', '.', '%2e%2e', 'a/b', 'a?x=1', 'a#frag', 'a;b', ' ', 'é', '\u0000', '\\..\\', 'a%00b', '//x'),
    fc.string({ minLength: 1, maxLength: 30 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 })
  )
  await fc.assert(fc.asyncProperty(hostileIds, hostileIds, async (snapshotId, volumeId) => {
    seen.length = 0
    handler = (request, response) => {
      const parts = (request.url ?? '').split('/')
      const body = parts[3] === 'cloudsnapshots' ? { snapshot: { volume_id: volumeId } } : { volume: { enterprise_project_id: 'ep-x' } }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const isDot = (id: string): boolean => id === '.' || id === '..'
    const ep = await ask(resolver(), 'snapshot', snapshotId).catch((error: unknown) => error)
    const asked = seen.map((s) => s.url.split('/'))
    // fetch resolves dot segments, so `.` and `..` would name another resource: they fail the lookup instead.
    if (isDot(snapshotId)) return ep instanceof Error && asked.length === 0
    if (isDot(volumeId)) return ep instanceof Error && asked.length === 1
    return ep === 'ep-x' && asked.length === 2 &&
      asked.every((parts) => parts.length === 5 && parts[0] === '' && parts[1] === 'v2' && parts[2] === P) &&
      asked[0]?.[3] === 'cloudsnapshots' && decodeURIComponent(asked[0][4] ?? '') === snapshotId &&
      asked[1]?.[3] === 'cloudvolumes' && decodeURIComponent(asked[1][4] ?? '') === volumeId
  }), { numRuns: 60 })
  t.pass('held')
})

t.test('an id that is a dot segment or cannot be encoded fails the lookup before anything is sent', async (t) => {
  handler = evsLike({ [`/v2/${P}/cloudvolumes`]: { volume: { enterprise_project_id: 'ep-of-the-collection' } } })
  for (const [kind, id] of [['volume', '.'], ['volume', '..'], ['snapshot', '..'], ['volume', 'a\ud800b']] as const) {
    seen.length = 0
    await t.rejects(ask(resolver(), kind, id), `${kind} ${JSON.stringify(id)}`)
    t.same(seen, [], `${kind} ${JSON.stringify(id)}: nothing was asked`)
  }
  seen.length = 0
  await t.rejects(Promise.resolve(resolver()({ kind: 'volume', id: 'v1', projectId: '..', request: undefined })), 'a dot-segment project')
  t.same(seen, [])
})

// --- the cached, timed lookup of the adapters ----------------------------------------------------------------------

const volume = (id: string): EnterpriseProjectLookup => ({ kind: 'volume', id, from: 'body' })
const snapshot = (id: string): EnterpriseProjectLookup => ({ kind: 'snapshot', id, from: 'path' })

/** The discriminant of a resolution (`found`, `unknown`, `failed`). */
const verdictOf = (resolution: EnterpriseProjectResolution | undefined): string | undefined => resolution?.kind
const foundId = (resolution: EnterpriseProjectResolution | undefined): string | undefined =>
  resolution !== undefined && 'id' in resolution ? resolution.id : undefined

interface Counting { readonly resolve: ResolveEnterpriseProject<string>, readonly calls: string[] }
function counting (answer: (kind: string, id: string, projectId: string) => unknown): Counting {
  const calls: string[] = []
  return {
    calls,
    resolve: ({ kind, id, projectId }) => {
      calls.push(`${projectId}:${kind}:${id}`)
      return answer(kind, id, projectId) as string | undefined
    }
  }
}

t.test('found, unknown and failed, and what each of them caches', async (t) => {
  // [case, what the resolver does, expected verdict, cached on the second ask]
  const cases: Array<[string, () => unknown, string, boolean]> = [
    ['an id', () => 'ep-a', 'found', true],
    ['an id, asynchronously', async () => await Promise.resolve('ep-a'), 'found', true],
    ['undefined', () => undefined, 'unknown', false],
    ['null', () => null, 'unknown', false],
    ['an empty string', () => '', 'unknown', false],
    ['a number', () => 42, 'failed', false],
    ['an object', () => ({ id: 'ep-a' }), 'failed', false],
    ['a synchronous throw', () => { throw new TypeError('secret-in-message') }, 'failed', false],
    ['a rejection', async () => await Promise.reject(new Error('secret-in-message')), 'failed', false],
    // A resolver may reject with anything; that is what is under test here.
    // eslint-disable-next-line prefer-promise-reject-errors
    ['a rejection with a non-error', async () => await Promise.reject('secret-in-message'), 'failed', false]
  ]
  for (const [name, behaviour, verdict, cached] of cases) {
    const { resolve, calls } = counting(behaviour)
    const lookup = createEnterpriseProjectLookup<string>({ resolve, cache: {}, timeout: 1000 })
    const [first] = await lookup([volume('v1')], P, 'req')
    const [second] = await lookup([volume('v1')], P, 'req')
    t.equal(verdictOf(first), verdict, name)
    t.equal(verdictOf(second), verdict, `${name}: the same on the second ask`)
    t.equal(calls.length, cached ? 1 : 2, `${name}: ${cached ? 'cached' : 'asked again'}`)
    if (verdict === 'found') t.match(second, { id: 'ep-a', cached: true }, `${name}: the second answer says it came from the cache`)
    if (verdict === 'found') t.match(first, { id: 'ep-a', cached: false })
    t.notMatch(JSON.stringify(first), 'secret-in-message', `${name}: error messages are not copied into the detail`)
  }
})

t.test('a lookup that outlives the timeout fails and is not cached', async (t) => {
  const { resolve, calls } = counting(async () => await new Promise(() => { /* never settles */ }))
  const lookup = createEnterpriseProjectLookup<string>({ resolve, cache: {}, timeout: 50 })
  const [result] = await lookup([snapshot('s1')], P, 'req')
  t.equal(verdictOf(result), 'failed')
  t.match(result, { detail: /timed out after 50 ms/ })
  await lookup([snapshot('s1')], P, 'req')
  t.equal(calls.length, 2, 'asked again')
})

t.test('without a resolver every lookup is unknown, never found', async (t) => {
  const lookup = createEnterpriseProjectLookup<string>({ resolve: undefined, cache: {}, timeout: 1000 })
  const results = await lookup([volume('v1'), snapshot('s1')], P, 'req')
  t.same(results.map(verdictOf), ['unknown', 'unknown'])
  t.match(results[0], { detail: /no resolveEnterpriseProject option/ })
})

t.test('the resolver gets the kind, id, project and request; answers come back in lookup order', async (t) => {
  const queries: unknown[] = []
  const lookup = createEnterpriseProjectLookup<{ tag: string }>({
    resolve: async (query) => {
      queries.push(query)
      // The first lookup answers last: order must follow the lookups, not the answers.
      await new Promise((resolve) => setTimeout(resolve, query.id === 's1' ? 30 : 0))
      return `ep-of-${query.id}`
    },
    cache: {},
    timeout: 1000
  })
  const request = { tag: 'the request' }
  const results = await lookup([snapshot('s1'), volume('v1')], P, request)
  t.same(results.map(foundId), ['ep-of-s1', 'ep-of-v1'])
  t.same(results.map((r) => r.lookup), [snapshot('s1'), volume('v1')], 'each answer carries its lookup')
  t.same(queries, [{ kind: 'snapshot', id: 's1', projectId: P, request }, { kind: 'volume', id: 'v1', projectId: P, request }])
  t.equal((queries[0] as { request: unknown }).request, request, 'the very request object')
})

t.test('the cache is keyed by project, kind and id: no answer leaks to another', async (t) => {
  const { resolve, calls } = counting((kind, id, projectId) => `${projectId}|${kind}|${id}`)
  const lookup = createEnterpriseProjectLookup<string>({ resolve, cache: {}, timeout: 1000 })
  const projects = [P, 'ffffffffffffffffffffffffffffffff']
  const ids = ['x', 'x\u0000volume\u0000x', 'volume', '', '\u0000']
  await fc.assert(fc.asyncProperty(fc.constantFrom(...projects), fc.constantFrom('volume', 'snapshot'), fc.constantFrom(...ids),
    async (projectId, kind, id) => {
      const [result] = await lookup([{ kind: kind as 'volume', id, from: 'path' }], projectId, 'req')
      return foundId(result) === `${projectId}|${kind}|${id}`
    }), { numRuns: 200 })
  t.ok(calls.length <= projects.length * 2 * ids.length, 'each distinct lookup asked at most once')
  t.equal(new Set(calls).size, calls.length, 'never asked twice for the same lookup')
})

t.test('the cache is an LRU bounded by max', async (t) => {
  const { resolve, calls } = counting((_kind, id) => `ep-${id}`)
  const lookup = createEnterpriseProjectLookup<string>({ resolve, cache: { max: 2 }, timeout: 1000 })
  for (const id of ['a', 'b', 'a', 'c', 'a', 'b']) await lookup([volume(id)], P, 'req')
  // a, b asked; a cached; c evicts b (least recent); a cached; b asked again.
  t.same(calls.map((c) => c.split(':')[2]), ['a', 'b', 'c', 'b'])
})

t.test('cached answers expire after the TTL', async (t) => {
  const { resolve, calls } = counting(() => 'ep-a')
  const lookup = createEnterpriseProjectLookup<string>({ resolve, cache: { ttl: 40 }, timeout: 1000 })
  await lookup([volume('v1')], P, 'req')
  const [fresh] = await lookup([volume('v1')], P, 'req')
  t.match(fresh, { cached: true })
  await new Promise((resolve) => setTimeout(resolve, 150))
  const [expired] = await lookup([volume('v1')], P, 'req')
  t.match(expired, { cached: false }, 'asked again once the entry expired')
  t.equal(calls.length, 2)
})

// --- through the plugin: the caller's token, the cache and failures ---------------------------------------------------

t.test('through the plugin: the built-in resolver decides, caches, and fails closed', async (t) => {
  handler = evsLike({
    [snapshotPath('snap-1')]: { snapshot: { volume_id: 'vol-1' } },
    [volumePath('vol-1')]: { volume: { enterprise_project_id: 'ep-a' } }
  })
  const { app, decisionLines } = buildApp({ resolveEnterpriseProject: resolver(), resolverTimeout: 500 })
  t.teardown(async () => { await app.close() })
  await app.ready()
  const claims = (ep: string): string =>
    JSON.stringify({ project_id: P, enterprise_projects: [{ id: ep, actions: ['evs:snapshots:get'] }] })
  const get = async (ep: string): Promise<{ status: number, line: Record<string, unknown> | undefined }> => {
    const id = nextRequestId()
    const response = await app.inject({
      method: 'GET',
      url: snapshotPath('snap-1'),
      headers: { 'x-request-id': id, 'x-test-claims': claims(ep), 'x-auth-token': CALLER_TOKEN }
    })
    return { status: response.statusCode, line: decisionLines(id)[0] }
  }
  seen.length = 0
  const first = await get('ep-a')
  t.equal(first.status, 200, 'the snapshot\'s EP is granted')
  t.same(first.line?.['enterpriseProjects'], [{ id: 'ep-a', source: 'resolver', from: 'path' }])
  t.ok(seen.length === 2 && seen.every((s) => s.headers['x-auth-token'] === SERVICE_TOKEN), 'upstream saw the service token only')
  const second = await get('ep-b')
  t.equal(second.status, 403, 'another EP\'s grant does not count')
  t.same(second.line?.['enterpriseProjects'], [{ id: 'ep-a', source: 'cache', from: 'path' }], 'answered from the cache')
  t.equal(seen.length, 2, 'the cache spared the upstream')

  handler = (_request, response) => { response.writeHead(503).end() }
  const { app: failing, decisionLines: failingLines } = buildApp({ resolveEnterpriseProject: resolver(), resolverTimeout: 500 })
  t.teardown(async () => { await failing.close() })
  await failing.ready()
  const id = nextRequestId()
  const headers = { 'x-request-id': id, 'x-test-claims': claims('ep-a') }
  const response = await failing.inject({ method: 'GET', url: snapshotPath('snap-1'), headers })
  t.equal(response.statusCode, 500, 'an upstream failure denies')
  t.match(failingLines(id)[0], { reason: 'enterprise-project-error', level: 50 }, 'logged at error')
})
