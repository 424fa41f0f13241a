// The Fastify plugin's own behaviours: coverage of every route, fail-closed 404s, audit mode,
// onDecision, the grants option (sync, async, failing), malformed claims, request.evsAuthz, paths
// outside the API, secrets never leaking, Keystone tokens, catalogue roles, start-up validation.
import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import evsAuthz, { type Decision, type EvsAuthzOptions } from '../src/index.js'
import { buildApp, headerClaims, nextRequestId, type LogLine, type TestApp } from './fixtures/app.js'

// The type of a subtest's `t` (the last overload of t.test takes only the callback).
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const P = '9a8b7c6d5e4f30211203f4e5d6c7b8a9'
const OTHER = '11112222333344445555666677778888'
const S = 'c0ffee00-1234-4abc-8def-0123456789ab'
const USER = 'user-42'

const ALL_SNAPSHOT_ACTIONS = ['evs:snapshots:create', 'evs:snapshots:list', 'evs:snapshots:get', 'evs:snapshots:update',
  'evs:snapshots:delete', 'evs:snapshots:rollback', 'evs:volumes:get']

interface Sent {
  readonly status: number
  readonly body: string
  readonly json: unknown
  readonly headers: Record<string, unknown>
  readonly reached: boolean
  readonly lines: LogLine[]
  readonly reqId: string
}

async function send (ta: TestApp, method: string, url: string,
  options: { claims?: unknown, headers?: Record<string, string> } = {}): Promise<Sent> {
  const reqId = nextRequestId('fastify')
  const headers: Record<string, string> = { 'x-request-id': reqId, ...options.headers }
  if (options.claims !== undefined) headers['x-test-claims'] = JSON.stringify(options.claims)
  const response = await ta.app.inject({ method: method as 'GET', url, headers })
  let json: unknown
  try {
    json = response.body === '' ? undefined : JSON.parse(response.body)
  } catch {
    json = undefined
  }
  return {
    status: response.statusCode,
    body: response.body,
    json,
    headers: response.headers,
    reached: ta.reached.includes(reqId),
    lines: ta.decisionLines(reqId),
    reqId
  }
}

function withApp (options: EvsAuthzOptions, build: Parameters<typeof buildApp>[1] = {}): TestApp {
  const ta = buildApp(options, build)
  t.teardown(async () => { await ta.app.close() })
  return ta
}

const claimsFor = (actions: string[], project = P): Record<string, unknown> => ({ project_id: project, sub: USER, actions })

t.test('routes registered before and after the plugin, at the root and in child contexts, are all guarded', async (t) => {
  const handler = (reached: string[]) => async (request: { id: unknown }) => {
    reached.push(String(request.id))
    return { reached: true }
  }
  const ta = withApp({}, {
    catchAll: false,
    before: (app, reached) => {
      app.get('/v2/:project_id/snapshots', handler(reached))
      app.register(async (child) => { child.get('/v2/:project_id/cloudsnapshots/detail', handler(reached)) })
    },
    after: (app, reached) => {
      app.delete('/v2/:project_id/snapshots/:snapshot_id', handler(reached))
      app.register(async (child) => { child.post('/v3/:project_id/snapshots', handler(reached)) })
    }
  })
  await ta.app.ready()
  const cases: Array<[string, string, string[]]> = [
    ['GET', `/v2/${P}/snapshots`, ['evs:snapshots:list']],
    ['GET', `/v2/${P}/cloudsnapshots/detail`, ['evs:snapshots:list']],
    ['DELETE', `/v2/${P}/snapshots/${S}`, ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get']],
    ['POST', `/v3/${P}/snapshots`, ['evs:snapshots:create', 'evs:volumes:get']]
  ]
  for (const [method, url, actions] of cases) {
    const anonymous = await send(ta, method, url)
    t.equal(anonymous.status, 401, `${method} ${url} without a token`)
    t.notOk(anonymous.reached, `${method} ${url} handler not reached without a token`)
    const lacking = await send(ta, method, url, { claims: claimsFor(actions.slice(1)) })
    t.equal(lacking.status, 403, `${method} ${url} lacking ${actions[0]}`)
    t.notOk(lacking.reached)
    const granted = await send(ta, method, url, { claims: claimsFor(actions) })
    t.equal(granted.status, 200, `${method} ${url} with its actions`)
    t.ok(granted.reached, `${method} ${url} handler reached`)
  }
})

t.test('a guarded path with no Fastify route is denied by the plugin, not answered 404', async (t) => {
  const ta = withApp({}, { catchAll: false })
  await ta.app.ready()
  const unknown = `/v2/${P}/snapshots/${S}/no-such-thing`
  const anonymous = await send(ta, 'GET', unknown)
  t.equal(anonymous.status, 401)
  t.same(anonymous.json, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } })
  t.equal(anonymous.lines.length, 1)
  const everything = await send(ta, 'GET', unknown, { claims: claimsFor(['*']) })
  t.equal(everything.status, 403, 'no row matches: fail closed even for Allow *')
  t.match(everything.json, { forbidden: { code: 403, message: String } })
  t.equal(everything.lines.length, 1)
  t.equal(everything.lines[0]?.['decision'], 'deny')
  t.equal(everything.lines[0]?.['reason'], 'route-not-found')
  t.ok((everything.lines[0]?.level ?? 0) >= 30)

  // A seed route without a Fastify handler: refused by the plugin first, 404 only once allowed.
  const known = `/v2/${P}/snapshots`
  t.equal((await send(ta, 'GET', known)).status, 401)
  t.equal((await send(ta, 'GET', known, { claims: claimsFor(['evs:snapshots:get']) })).status, 403)
  t.equal((await send(ta, 'GET', known, { claims: claimsFor(['evs:snapshots:list']) })).status, 404)

  // A method the row does not have is refused, never passed to the backend.
  const patch = await send(ta, 'PATCH', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['*']) })
  t.equal(patch.status, 403)
  t.equal(patch.lines[0]?.['reason'], 'method-not-allowed')
})

t.test('audit mode lets a would-deny request through and logs it as an audited denial', async (t) => {
  const ta = withApp({ mode: 'audit' })
  await ta.app.ready()
  const lacking = await send(ta, 'DELETE', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['evs:snapshots:get', 'evs:volumes:get']) })
  t.equal(lacking.status, 200)
  t.ok(lacking.reached, 'handler reached')
  t.same(lacking.json, { reached: true })
  t.equal(lacking.lines.length, 1)
  t.match(lacking.lines[0],
    {
      mode: 'audit',
      decision: 'deny',
      reason: 'missing-action',
      method: 'DELETE',
      template: '/v2/{project_id}/snapshots/{snapshot_id}',
      projectId: P,
      userId: USER
    })
  t.same(lacking.lines[0]?.['missingActions'], ['evs:snapshots:delete'])
  t.ok((lacking.lines[0]?.level ?? 0) >= 30, 'audited denial at info or above')

  const anonymous = await send(ta, 'GET', `/v2/${P}/cloudsnapshots/${S}`)
  t.equal(anonymous.status, 200)
  t.ok(anonymous.reached)
  t.match(anonymous.lines[0], { mode: 'audit', decision: 'deny', reason: 'no-credentials' })

  const allowed = await send(ta, 'GET', `/v2/${P}/cloudsnapshots/${S}`, { claims: claimsFor(['evs:snapshots:get']) })
  t.equal(allowed.status, 200)
  t.match(allowed.lines[0], { mode: 'audit', decision: 'allow', reason: 'granted', level: 20 })
})

t.test('onDecision is called once per decision with the decision and the request', async (t) => {
  const calls: Array<{ decision: Decision, request: FastifyRequest }> = []
  const ta = withApp({
    onDecision: (decision, request) => { calls.push({ decision, request }) }
  })
  await ta.app.ready()

  const allowed = await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['evs:snapshots:get']) })
  const denied = await send(ta, 'PUT', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['evs:snapshots:get']) })
  const anonymous = await send(ta, 'GET', `/v2/${P}/snapshots`)
  const outside = await send(ta, 'GET', '/health')
  t.equal(outside.status, 200)

  t.same(calls.map((c) => String(c.request.id)), [allowed.reqId, denied.reqId, anonymous.reqId],
    'one call per guarded request, none outside')
  for (const call of calls) t.equal(call.request.evsAuthz, call.decision, 'the decision given is the one the request carries')
  const [a, d, n] = calls.map((c) => c.decision)
  t.match(a, { kind: 'allow', reason: 'granted', method: 'GET', projectId: P, userId: USER })
  t.same(a?.required, ['evs:snapshots:get'])
  t.match(d, { kind: 'deny', reason: 'missing-action', status: 403, method: 'PUT' })
  t.same(d?.missing, ['evs:snapshots:update'])
  t.match(n, { kind: 'deny', reason: 'no-credentials', status: 401 })
})

t.test('a throwing onDecision changes neither the outcome nor the decision line, and does not crash', async (t) => {
  let calls = 0
  const ta = withApp({
    onDecision: () => {
      calls += 1
      throw new Error('onDecision exploded')
    }
  })
  await ta.app.ready()
  const allowed = await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['evs:snapshots:get']) })
  t.equal(allowed.status, 200)
  t.ok(allowed.reached)
  t.equal(allowed.lines.length, 1)
  t.equal(allowed.lines[0]?.['decision'], 'allow')
  const denied = await send(ta, 'DELETE', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['evs:snapshots:get']) })
  t.equal(denied.status, 403)
  t.notOk(denied.reached)
  t.same(denied.json, { forbidden: { code: 403, message: 'Policy doesn\'t allow evs:snapshots:delete to be performed.' } })
  t.equal(denied.lines.length, 1)
  const anonymous = await send(ta, 'GET', `/v2/${P}/cloudsnapshots/detail`)
  t.equal(anonymous.status, 401)
  t.equal(calls, 3)
  const again = await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims: claimsFor(['evs:snapshots:get']) })
  t.equal(again.status, 200, 'still serving afterwards')
})

const grantsVariants: Array<[string, EvsAuthzOptions['grants']]> = [
  ['sync', (request) => headerClaims(request) ?? null],
  ['async', async (request) => {
    await new Promise((resolve) => setImmediate(resolve))
    return headerClaims(request) ?? null
  }]
]

for (const [kind, grants] of grantsVariants) {
  t.test(`grants option (${kind}) supplies the claims`, async (t) => {
    const ta = withApp(grants === undefined ? {} : { grants }, { claimsHook: false })
    await ta.app.ready()
    const url = `/v2/${P}/cloudsnapshots/${S}/rollback`
    const allowed = await send(ta, 'POST', url, { claims: claimsFor(['evs:snapshots:rollback']) })
    t.equal(allowed.status, 200)
    t.ok(allowed.reached)
    t.match(allowed.lines[0], { decision: 'allow', reason: 'granted', userId: USER, level: 20 })
    const denied = await send(ta, 'POST', url, { claims: claimsFor(['evs:snapshots:get']) })
    t.equal(denied.status, 403)
    t.notOk(denied.reached)
    t.same(denied.json, { error: { code: 'EVS.5403', message: 'Policy doesn\'t allow evs:snapshots:rollback to be performed.' } })
    const anonymous = await send(ta, 'POST', url)
    t.equal(anonymous.status, 401, 'grants returning null → 401')
    t.notOk(anonymous.reached)
    t.match(anonymous.json, { error: { code: 'EVS.5401' } })
    t.equal(anonymous.lines[0]?.['reason'], 'no-credentials')
  })
}

t.test('grants returning null or undefined → 401', async (t) => {
  for (const value of [null, undefined]) {
    const ta = withApp({ grants: () => value }, { claimsHook: false })
    await ta.app.ready()
    const sent = await send(ta, 'GET', `/v2/${P}/snapshots/${S}`)
    t.equal(sent.status, 401, `grants → ${String(value)}`)
    t.notOk(sent.reached)
    t.equal(sent.lines[0]?.['reason'], 'no-credentials')
  }
})

const failingGrants: Array<[string, EvsAuthzOptions['grants']]> = [
  ['throws', () => { throw new Error('SECRET-GRANTS-ERROR-1') }],
  ['rejects', async () => { throw new Error('SECRET-GRANTS-ERROR-1') }],
  ['returns a rejected promise later',
    () => new Promise((_resolve, reject) => setImmediate(() => reject(new Error('SECRET-GRANTS-ERROR-1'))))]
]

for (const [kind, grants] of failingGrants) {
  t.test(`a grants function that ${kind} → 500, handler never reached, logged at error`, async (t) => {
    const ta = withApp(grants === undefined ? {} : { grants }, { claimsHook: false })
    await ta.app.ready()
    for (const [method, url] of [['GET', `/v2/${P}/snapshots/${S}`], ['DELETE', `/v2/${P}/cloudsnapshots/${S}`]] as const) {
      const sent = await send(ta, method, url)
      t.equal(sent.status, 500, `${method} ${url}`)
      t.notOk(sent.reached, 'handler never reached')
      t.equal(sent.lines.length, 1)
      t.match(sent.lines[0], { decision: 'deny', reason: 'grants-error', level: 50 })
      // The operator needs the error itself (pino's err serializer: type, message, stack); the client never sees it.
      t.match(sent.lines[0], { err: { type: 'Error', message: 'SECRET-GRANTS-ERROR-1', stack: /SECRET-GRANTS-ERROR-1/ } },
        'the error is logged as err')
      t.notMatch(sent.body, 'SECRET-GRANTS-ERROR-1', 'the error message is not sent to the client')
    }
  })
}

t.test('malformed claims deny (403 invalid-grants), never allow', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  const malformed: Array<[string, Record<string, unknown>]> = [
    ['a Deny statement with a non-string Action',
      { project_id: P, sub: USER, policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: 5 }] }] }],
    ['the same next to Allow *',
      { project_id: P, sub: USER, actions: ['*'], policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: 5 }] }] }],
    ['actions as a string', { project_id: P, sub: USER, actions: 'evs:snapshots:get' }],
    ['an unknown policy version',
      { project_id: P, sub: USER, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['*'] }] }] }],
    ['an unknown Effect', { project_id: P, sub: USER, policies: [{ Version: '1.1', Statement: [{ Effect: 'allow', Action: ['*'] }] }] }],
    ['roles as a string', { project_id: P, sub: USER, roles: 'te_admin' }]
  ]
  for (const [what, claims] of malformed) {
    const sent = await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims })
    t.equal(sent.status, 403, what)
    t.notOk(sent.reached, `${what}: handler not reached`)
    t.match(sent.json, { forbidden: { code: 403, message: String } })
    t.match(sent.lines[0], { decision: 'deny', reason: 'invalid-grants' }, what)
  }
  const ta2 = withApp({ grants: () => 'not-an-object' }, { claimsHook: false })
  await ta2.app.ready()
  const scalar = await send(ta2, 'GET', `/v2/${P}/snapshots/${S}`)
  t.equal(scalar.status, 403, 'claims that are not an object')
  t.equal(scalar.lines[0]?.['reason'], 'invalid-grants')
})

t.test('request.evsAuthz carries the decision into later hooks and handlers; null outside the API', async (t) => {
  const seen = new Map<string, { hook: Decision | null, handler: Decision | null }>()
  const ta = withApp({ mode: 'audit' }, {
    catchAll: false,
    after: (app) => {
      app.addHook('preHandler', async (request) => { seen.set(String(request.id), { hook: request.evsAuthz, handler: null }) })
      app.all('/*', async (request) => {
        const entry = seen.get(String(request.id))
        if (entry !== undefined) entry.handler = request.evsAuthz
        return { reached: true }
      })
    }
  })
  await ta.app.ready()
  const allowed = await send(ta, 'GET', `/v3/${P}/snapshots/${S}/metadata/color`, { claims: claimsFor(['evs:snapshots:get']) })
  const denied = await send(ta, 'DELETE', `/v3/${P}/snapshots/${S}/metadata/color`, { claims: claimsFor(['evs:snapshots:get']) })
  const outside = await send(ta, 'GET', '/health')
  t.equal(allowed.status, 200)
  t.match(seen.get(allowed.reqId), {
    hook: {
      kind: 'allow',
      reason: 'granted',
      method: 'GET',
      projectId: P,
      route: { template: '/v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}' }
    },
    handler: { kind: 'allow', reason: 'granted' }
  })
  t.match(seen.get(allowed.reqId)?.hook?.params, { project_id: P, snapshot_id: S, key: 'color' })
  t.match(seen.get(denied.reqId), { hook: { kind: 'deny', reason: 'missing-action' }, handler: { kind: 'deny' } },
    'audit: a denial reaches the handler with its decision')
  t.same(seen.get(outside.reqId), { hook: null, handler: null })
})

t.test('paths outside the API are untouched: no decision, no log line', async (t) => {
  const onDecision: Decision[] = []
  const ta = withApp({ onDecision: (decision) => { onDecision.push(decision) } })
  await ta.app.ready()
  for (const url of ['/health', '/', '/v1/status', `/v5/${P}/snapshots`, '/v22/x', '/version/v2', `/api/v2/${P}/snapshots`]) {
    const sent = await send(ta, 'GET', url)
    t.equal(sent.status, 200, url)
    t.ok(sent.reached, `${url} reached`)
    t.same(sent.lines, [], `${url}: no decision line`)
  }
  t.same(onDecision, [])
})

t.test('the token, auth headers and claim contents never appear in logs or responses', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  const secrets = ['SECRET-TOKEN-123', 'SECRET-TOKEN-456', 'SECRET-CLAIM-789']
  const headers = { authorization: 'Bearer SECRET-TOKEN-123', 'x-auth-token': 'SECRET-TOKEN-456' }
  const withSecret = (claims: Record<string, unknown>): Record<string, unknown> => ({ ...claims, secret: 'SECRET-CLAIM-789' })
  const cases: Array<[string, string, string, Record<string, unknown> | undefined, number]> = [
    ['allow (cinder)', 'DELETE', `/v2/${P}/snapshots/${S}`,
      withSecret(claimsFor(['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'])), 200],
    ['allow (evs)', 'POST', `/v2/${P}/cloudsnapshots`, withSecret(claimsFor(['evs:snapshots:create'])), 200],
    ['missing action', 'DELETE', `/v2/${P}/snapshots/${S}`, withSecret(claimsFor(['evs:snapshots:get'])), 403],
    ['explicit deny', 'GET', `/v2/${P}/cloudsnapshots/detail`,
      withSecret({
        project_id: P,
        sub: USER,
        policies: [{ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['*'] }, { Effect: 'Deny', Action: ['evs:snapshots:list'] }] }]
      }), 403],
    ['project mismatch', 'GET', `/v2/${P}/snapshots`, withSecret(claimsFor(['evs:snapshots:list'], OTHER)), 403],
    ['no route', 'GET', `/v2/${P}/snapshots/${S}/nope`, withSecret(claimsFor(['*'])), 403],
    ['malformed grants', 'GET', `/v2/${P}/snapshots`,
      withSecret({ project_id: P, policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: 5 }] }] }), 403],
    ['no claims', 'GET', `/v2/${P}/snapshots`, undefined, 401]
  ]
  for (const [what, method, url, claims, status] of cases) {
    const before = ta.lines.length
    const sent = await send(ta, method, url, { claims, headers })
    t.equal(sent.status, status, what)
    t.equal(sent.lines.length, 1, `${what}: one decision line`)
    const logged = ta.lines.slice(before).map((line) => JSON.stringify(line)).join('\n')
    for (const secret of secrets) {
      t.notOk(logged.includes(secret), `${what}: ${secret} not logged`)
      t.notOk(sent.body.includes(secret), `${what}: ${secret} not in the body`)
      t.notOk(JSON.stringify(sent.headers).includes(secret), `${what}: ${secret} not in response headers`)
    }
  }
})

t.test('a malformed grant does not echo claim contents into the decision line', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a role object without a name', { project_id: P, roles: [{ secret: 'SECRET-CLAIM-789' }] }],
    ['actions as a string', { project_id: P, actions: 'SECRET-CLAIM-789' }]
  ]
  for (const [what, claims] of cases) {
    const before = ta.lines.length
    const sent = await send(ta, 'GET', `/v2/${P}/snapshots`, { claims })
    t.equal(sent.status, 403, what)
    t.equal(sent.lines[0]?.['reason'], 'invalid-grants', what)
    t.notOk(sent.body.includes('SECRET-CLAIM-789'), `${what}: not in the body`)
    const logged = ta.lines.slice(before).map((line) => JSON.stringify(line)).join('\n')
    t.notOk(logged.includes('SECRET-CLAIM-789'), `${what}: claim content not logged`)
  }
})

t.test('a Keystone token body allows a Cinder delete', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  const keystone = (project: string): Record<string, unknown> =>
    ({ token: { project: { id: project }, user: { id: 'u1', name: 'alice' }, roles: [{ id: '0', name: 'te_admin' }] } })
  const allowed = await send(ta, 'DELETE', `/v2/${P}/snapshots/${S}`, { claims: keystone(P) })
  t.equal(allowed.status, 200)
  t.ok(allowed.reached)
  t.match(allowed.lines[0], { decision: 'allow', reason: 'granted', projectId: P, userId: 'u1' })
  const elsewhere = await send(ta, 'DELETE', `/v2/${P}/snapshots/${S}`, { claims: keystone(OTHER) })
  t.equal(elsewhere.status, 403, 'a Keystone token for another project')
  t.notOk(elsewhere.reached)
  t.match(elsewhere.lines[0], { reason: 'project-mismatch', userId: 'u1' })
  const guest = await send(ta, 'DELETE', `/v2/${P}/snapshots/${S}`,
    { claims: { token: { project: { id: P }, user: { id: 'u2' }, roles: [{ id: '1', name: 'readonly' }] } } })
  t.equal(guest.status, 403, 'a Keystone token with only the readonly role')
  t.same(guest.json, { forbidden: { code: 403, message: 'Policy doesn\'t allow evs:snapshots:delete to be performed.' } })
})

// [method, url, family, the one action a read-only role lacks (undefined: a read)]
const probes: Array<[string, string, 'cinder' | 'evs', string | undefined]> = [
  ['GET', `/v2/${P}/snapshots`, 'cinder', undefined],
  ['GET', `/v2/${P}/snapshots/detail`, 'cinder', undefined],
  ['GET', `/v2/${P}/snapshots/${S}`, 'cinder', undefined],
  ['GET', `/v3/${P}/snapshots/${S}/metadata/color`, 'cinder', undefined],
  ['GET', `/v2/${P}/cloudsnapshots/detail`, 'evs', undefined],
  ['GET', `/v2/${P}/cloudsnapshots/${S}`, 'evs', undefined],
  ['POST', `/v2/${P}/snapshots`, 'cinder', 'evs:snapshots:create'],
  ['DELETE', `/v2/${P}/snapshots/${S}`, 'cinder', 'evs:snapshots:delete'],
  ['PUT', `/v3/${P}/snapshots/${S}/metadata`, 'cinder', 'evs:snapshots:update'],
  ['POST', `/v2/${P}/os-vendor-snapshots/${S}/rollback`, 'cinder', 'evs:snapshots:rollback'],
  ['POST', `/v2/${P}/cloudsnapshots`, 'evs', 'evs:snapshots:create'],
  ['PUT', `/v2/${P}/cloudsnapshots/${S}`, 'evs', 'evs:snapshots:update'],
  ['DELETE', `/v2/${P}/cloudsnapshots/${S}`, 'evs', 'evs:snapshots:delete'],
  ['POST', `/v2/${P}/cloudsnapshots/${S}/rollback`, 'evs', 'evs:snapshots:rollback']
]

const roleKinds: Array<[string, 'full' | 'read']> = [
  ['te_admin', 'full'],
  ['Tenant Administrator', 'full'],
  ['readonly', 'read'],
  ['Tenant Guest', 'read'],
  ['EVS FullAccess', 'full'],
  ['EVS ReadOnlyAccess', 'read'],
  ['Server Administrator', 'full'],
  ['server_adm', 'full']
]

t.test('built-in catalogue roles behave as their policies say', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  for (const [role, kind] of roleKinds) {
    t.test(`role ${role} (${kind})`, async (t) => {
      for (const [method, url, family, writeAction] of probes) {
        const sent = await send(ta, method, url, { claims: { project_id: P, sub: USER, roles: [role] } })
        if (kind === 'full' || writeAction === undefined) {
          t.equal(sent.status, 200, `${method} ${url} allowed`)
          t.ok(sent.reached)
        } else {
          t.equal(sent.status, 403, `${method} ${url} denied`)
          t.notOk(sent.reached)
          const message = `Policy doesn't allow ${writeAction} to be performed.`
          t.same(sent.json, family === 'cinder' ? { forbidden: { code: 403, message } } : { error: { code: 'EVS.5403', message } })
          t.same(sent.lines[0]?.['missingActions'], [writeAction], `${method} ${url}: only ${writeAction} is missing`)
        }
      }
    })
  }
  t.test('an unknown role grants nothing', async (t) => {
    const sent = await send(ta, 'GET', `/v2/${P}/snapshots`, { claims: { project_id: P, sub: USER, roles: ['EVS Superuser'] } })
    t.equal(sent.status, 403)
    t.same(sent.lines[0]?.['missingActions'], ['evs:snapshots:list'])
  })
  t.test('role names are matched exactly', async (t) => {
    const sent = await send(ta, 'GET', `/v2/${P}/snapshots`, { claims: { project_id: P, sub: USER, roles: ['TE_ADMIN'] } })
    t.equal(sent.status, 403)
  })
})

t.test('the policies option adds custom roles and can replace built-in ones', async (t) => {
  const ta = withApp({
    policies: {
      'Snapshot Viewer': { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:get', 'evs:snapshots:list'] }] },
      'Snapshot Janitor': [
        { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:*'] }] },
        { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:snapshots:rollback'] }] }
      ],
      readonly: { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:list'] }] }
    }
  })
  await ta.app.ready()
  const as = (role: string): Record<string, unknown> => ({ project_id: P, sub: USER, roles: [role] })
  t.equal((await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims: as('Snapshot Viewer') })).status, 200)
  t.equal((await send(ta, 'GET', `/v2/${P}/cloudsnapshots/detail`, { claims: as('Snapshot Viewer') })).status, 200)
  t.equal((await send(ta, 'DELETE', `/v2/${P}/cloudsnapshots/${S}`, { claims: as('Snapshot Viewer') })).status, 403)
  t.equal((await send(ta, 'DELETE', `/v2/${P}/cloudsnapshots/${S}`, { claims: as('Snapshot Janitor') })).status, 200)
  const cinderDelete = await send(ta, 'DELETE', `/v2/${P}/snapshots/${S}`, { claims: as('Snapshot Janitor') })
  t.equal(cinderDelete.status, 403, 'evs:snapshots:* does not cover evs:volumes:get')
  t.same(cinderDelete.lines[0]?.['missingActions'], ['evs:volumes:get'])
  const rollback = await send(ta, 'POST', `/v2/${P}/cloudsnapshots/${S}/rollback`, { claims: as('Snapshot Janitor') })
  t.equal(rollback.status, 403)
  t.equal(rollback.lines[0]?.['reason'], 'explicit-deny')
  t.equal((await send(ta, 'GET', `/v2/${P}/snapshots`, { claims: as('readonly') })).status, 200, 'replaced readonly still lists')
  t.equal((await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims: as('readonly') })).status, 403, 'replaced readonly no longer gets')
  t.equal((await send(ta, 'GET', `/v2/${P}/snapshots/${S}`, { claims: as('Tenant Guest') })).status, 200, 'other built-in roles are kept')
})

async function startupError (options: unknown): Promise<unknown> {
  const app = Fastify()
  app.register(evsAuthz, options as EvsAuthzOptions)
  // A plugin that neither resolves nor rejects ready() within 1 s counts as "did not reject".
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 1000) })
  try {
    return await Promise.race([app.ready().then(() => 'resolved', (caught: unknown) => caught), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function checkStartupError (t: TapTest, error: unknown, mentions: string[]): void {
  t.ok(error instanceof Error, 'app.ready() rejects with an Error')
  const { code, message } = (error ?? {}) as { code?: unknown, message?: unknown }
  t.match(code, /^EVS_AUTHZ_ERR_/, `code ${String(code)}`)
  for (const mention of mentions) t.match(message, mention, `message mentions ${mention}`)
}

const row = (overrides: Record<string, unknown>): Record<string, unknown> => ({
  method: 'GET',
  template: '/v2/{project_id}/widgets',
  actions: ['evs:widgets:get'],
  enterpriseProject: false,
  family: 'cinder',
  name: 'Widgets',
  ...overrides
})

const badOptions: Array<[string, unknown, string[]]> = [
  ['mode \'block\'', { mode: 'block' }, ['mode', 'block']],
  ['unmatched \'maybe\'', { unmatched: 'maybe' }, ['unmatched', 'maybe']],
  ['prefix \'evs/\'', { prefix: 'evs/' }, ['prefix', 'evs/']],
  ['a route table with several bad rows', {
    routes: [
      row({ method: 'FETCH' }),
      row({ template: '/v2/{project_id}/gadgets', actions: ['evs:*:get'] }),
      row({ template: '/v2/{project_id}/gizmos', name: 'Gizmos' }),
      row({ template: '/v2/{project_id}/gizmos', name: 'Gizmos again' }),
      row({ template: '/v2/{project_id}/things/*rest' })
    ]
  }, ['routes[0]', 'FETCH', 'routes[1]', 'evs:*:get', 'routes[3]', 'routes[4]']],
  ['an empty route table', { routes: [] }, ['routes']],
  ['a bad policy catalogue', { policies: { Broken: { Version: '1.1', Statement: [{ Effect: 'Permit', Action: ['*'] }] } } },
    ['Broken', 'Permit']],
  ['mode, unmatched and prefix all wrong at once', { mode: 'block', unmatched: 'maybe', prefix: 'evs/' },
    ['mode', 'block', 'unmatched', 'maybe', 'prefix', 'evs/']]
]

for (const [what, options, mentions] of badOptions) {
  t.test(`invalid options make app.ready() reject: ${what}`, async (t) => {
    checkStartupError(t, await startupError(options), mentions)
  })
}

// The same inputs, handed to the plugin function directly (no avvio), so the error itself can be
// checked even when app.ready() does not surface it: one error, with a code, naming every problem.
for (const [what, options, mentions] of badOptions) {
  t.test(`invalid options are reported in one configuration error: ${what}`, async (t) => {
    let error: unknown
    const stub = { decorateRequest () {}, addHook () {}, hasRequestDecorator: () => false } as unknown as FastifyInstance
    try {
      evsAuthz(stub, options as EvsAuthzOptions, (err?: Error) => { error = err })
    } catch (caught) {
      error = caught
    }
    checkStartupError(t, error, mentions)
  })
}

t.test('the plugin is registered through fastify-plugin as evs-authz', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  t.ok(ta.app.hasPlugin('evs-authz'))
  t.equal(ta.app.printPlugins().includes('evs-authz'), true)
})

t.test('method override headers → 400 before any grant is consulted', async (t) => {
  const ta = withApp({})
  await ta.app.ready()
  for (const header of ['x-http-method-override', 'X-HTTP-Method', 'x-method-override']) {
    const sent = await send(ta, 'GET', `/v2/${P}/snapshots/${S}`,
      { claims: claimsFor(ALL_SNAPSHOT_ACTIONS), headers: { [header]: 'DELETE' } })
    t.equal(sent.status, 400, header)
    t.notOk(sent.reached, `${header}: handler not reached`)
    t.match(sent.json, { badRequest: { code: 400, message: String } })
    t.equal(sent.lines.length, 1)
    t.match(sent.lines[0], { decision: 'deny', reason: 'method-override' })
  }
})

t.test('a prefix moves the guarded space', async (t) => {
  const ta = withApp({ prefix: '/evs' })
  await ta.app.ready()
  t.equal((await send(ta, 'GET', `/evs/v2/${P}/snapshots`)).status, 401)
  const allowed = await send(ta, 'GET', `/evs/v2/${P}/snapshots`, { claims: claimsFor(['evs:snapshots:list']) })
  t.equal(allowed.status, 200)
  t.match(allowed.lines[0], { decision: 'allow', template: '/v2/{project_id}/snapshots' })
})
