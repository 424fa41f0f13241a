// Enterprise-project (EP) authorization: EP-scoped grants count only on EP-capable rows, only for the
// EP the request touches (query, body volume, path snapshot), resolved through a cached, timed lookup.
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import evsAuthz, { type EvsAuthzOptions } from '../src/index.js'
import { snapshotRoutes } from '../src/routes/snapshots.js'

const P = '0123456789abcdef0123456789abcdef'
const EP_A = 'ep-aaaa'
const EP_B = 'ep-bbbb'
const VOL_A = 'vol-a-1111'
const VOL_B = 'vol-b-2222'
const SNAP_A = 'snap-a-1111'
const SNAP_B = 'snap-b-2222'
// What the backend knows: each resource's enterprise project.
const EP_OF: Record<string, string> =
  { [`volume:${VOL_A}`]: EP_A, [`volume:${VOL_B}`]: EP_B, [`snapshot:${SNAP_A}`]: EP_A, [`snapshot:${SNAP_B}`]: EP_B }

interface Harness { app: FastifyInstance, lines: Array<Record<string, unknown>>, reached: string[], calls: string[] }

async function harness (options: EvsAuthzOptions = {}, resolver?: EvsAuthzOptions['resolveEnterpriseProject']): Promise<Harness> {
  const lines: Array<Record<string, unknown>> = []
  const reached: string[] = []
  const calls: string[] = []
  const app = Fastify({
    logger: { level: 'debug', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } }
  })
  app.addHook('onRequest', async (request) => {
    const claims = request.headers['x-claims']
    Reflect.set(request, 'user', typeof claims === 'string' ? JSON.parse(claims) : undefined)
  })
  await app.register(evsAuthz, {
    resolveEnterpriseProject: resolver ?? (({ kind, id, projectId }) => {
      calls.push(`${projectId}:${kind}:${id}`)
      return EP_OF[`${kind}:${id}`]
    }),
    ...options
  })
  app.all('/*', async (request) => {
    reached.push(`${request.method} ${request.url} ${JSON.stringify(request.body ?? null)}`)
    return { reached: true }
  })
  await app.ready()
  return { app, lines, reached, calls }
}

const epOnly = (...grants: Array<{ id: string, actions?: string[], roles?: string[] }>): string =>
  JSON.stringify({ project_id: P, sub: 'ep-user', enterprise_projects: grants })

// [row, method, url, body, persona, expected status, expected reason]
type Case = [string, string, string, unknown, string, number, string]
const epRows: Case[] = [
  ['list, granted EP named', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP_A}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 200, 'granted'],
  ['list, another EP named', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP_B}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 403, 'missing-action'],
  ['list, no EP named', 'GET', `/v2/${P}/cloudsnapshots/detail?limit=10`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 403, 'enterprise-project-required'],
  // all_granted_eps makes the backend list every EP the caller has any grant in: EP-scoped grants cannot vouch for that.
  ['list, all_granted_eps, every EP grant allows', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=all_granted_eps`,
    undefined, epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }, { id: EP_B, roles: ['EVS ReadOnlyAccess'] }), 403,
    'enterprise-project-required'],
  ['list, all_granted_eps, one EP grant lacks list', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=all_granted_eps`,
    undefined, epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }, { id: EP_B, actions: ['evs:snapshots:get'] }), 403,
    'enterprise-project-required'],
  ['list, ALL_GRANTED_EPS in another case', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=ALL_Granted_EPS`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 403, 'enterprise-project-required'],
  ['list, all_granted_eps with a project-wide list grant', 'GET',
    `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=all_granted_eps`, undefined,
    JSON.stringify({ project_id: P, actions: ['evs:snapshots:list'] }), 200, 'granted'],
  // The backend reads one value (webob: the last): duplicates, however separated or spelled, are refused.
  ['list, two EPs named', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP_A}&enterprise_project_id=${EP_B}`,
    undefined, epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 400, 'malformed-query'],
  ['list, a second EP after ;', 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP_A}&x=;enterprise_project_id=${EP_B}`,
    undefined, epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 400, 'malformed-query'],
  ['list, a second EP percent-encoded', 'GET',
    `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP_A}&enterprise%5Fproject%5Fid=${EP_B}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 400, 'malformed-query'],
  ['list, the EP named after ;', 'GET', `/v2/${P}/cloudsnapshots/detail?limit=5;enterprise_project_id=${EP_B}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }), 403, 'missing-action'],
  ['create, volume in the granted EP', 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { volume_id: VOL_A, name: 's' } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }), 200, 'granted'],
  ['create, volume in another EP', 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { volume_id: VOL_B } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }), 403, 'missing-action'],
  ['create, no body', 'POST', `/v2/${P}/cloudsnapshots`, undefined, epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }), 400,
    'malformed-body'],
  ['create, body without volume_id', 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { name: 'x' } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }), 400, 'malformed-body'],
  ['create, volume_id that is not an id', 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { volume_id: '../../v2/x' } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }), 400, 'malformed-body'],
  ['create, unknown volume', 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { volume_id: 'vol-nope' } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }), 403, 'enterprise-project-unresolved'],
  ['show, snapshot in the granted EP', 'GET', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:get'] }), 200, 'granted'],
  ['show, snapshot in another EP', 'GET', `/v2/${P}/cloudsnapshots/${SNAP_B}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:get'] }), 403, 'missing-action'],
  ['show, unknown snapshot', 'GET', `/v2/${P}/cloudsnapshots/snap-nope`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:get'] }), 403, 'enterprise-project-unresolved'],
  ['update, snapshot in the granted EP', 'PUT', `/v2/${P}/cloudsnapshots/${SNAP_A}`, { snapshot: { name: 'n' } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:update'] }), 200, 'granted'],
  ['update, snapshot in another EP', 'PUT', `/v2/${P}/cloudsnapshots/${SNAP_B}`, { snapshot: { name: 'n' } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:update'] }), 403, 'missing-action'],
  ['delete, snapshot in the granted EP', 'DELETE', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:delete'] }), 200, 'granted'],
  ['delete, snapshot in another EP', 'DELETE', `/v2/${P}/cloudsnapshots/${SNAP_B}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:delete'] }), 403, 'missing-action'],
  ['delete, EP grant of another action', 'DELETE', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:get'] }), 403, 'missing-action'],
  ['rollback, snapshot and volume in the granted EP', 'POST', `/v2/${P}/cloudsnapshots/${SNAP_A}/rollback`,
    { rollback: { volume_id: VOL_A } }, epOnly({ id: EP_A, actions: ['evs:snapshots:rollback'] }), 200, 'granted'],
  ['rollback, volume in another EP', 'POST', `/v2/${P}/cloudsnapshots/${SNAP_A}/rollback`, { rollback: { volume_id: VOL_B } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:rollback'] }), 403, 'missing-action'],
  ['rollback, snapshot in another EP', 'POST', `/v2/${P}/cloudsnapshots/${SNAP_B}/rollback`, { rollback: { volume_id: VOL_A } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:rollback'] }), 403, 'missing-action'],
  ['rollback, both EPs granted', 'POST', `/v2/${P}/cloudsnapshots/${SNAP_B}/rollback`, { rollback: { volume_id: VOL_A } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:rollback'] }, { id: EP_B, actions: ['evs:snapshots:rollback'] }), 200, 'granted'],
  ['rollback, malformed JSON', 'POST', `/v2/${P}/cloudsnapshots/${SNAP_A}/rollback`, '{"rollback":',
    epOnly({ id: EP_A, actions: ['evs:snapshots:rollback'] }), 400, 'malformed-body'],
  ['a project-wide Deny is not lifted by an EP grant', 'GET', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined,
    JSON.stringify({
      project_id: P,
      policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:snapshots:get'] }] }],
      enterprise_projects: [{ id: EP_A, actions: ['*'] }]
    }), 403, 'explicit-deny'],
  ['an EP-scoped Deny beats the EP Allow', 'GET', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined,
    JSON.stringify({
      project_id: P,
      enterprise_projects: [{
        id: EP_A,
        actions: ['*'],
        policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:snapshots:get'] }] }]
      }]
    }), 403, 'explicit-deny'],
  ['EP grants in another project\'s token', 'GET', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined,
    JSON.stringify({ project_id: 'fedcba9876543210fedcba9876543210', enterprise_projects: [{ id: EP_A, actions: ['*'] }] }), 403,
    'project-mismatch']
]

async function send (h: Harness, method: string, url: string, body: unknown,
  claims: string): Promise<{ status: number, json: Record<string, unknown>, line: Record<string, unknown> | undefined }> {
  const before = h.lines.length
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const response =
    await h.app.inject({
      method: method as 'GET',
      url,
      headers: { 'x-claims': claims, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { payload })
    })
  const line = h.lines.slice(before).find((l) => l['msg'] === 'evs-authz decision')
  return { status: response.statusCode, json: response.body === '' ? {} : response.json(), line }
}

t.test('EP-capable rows: the EP the request touches decides', async (t) => {
  const h = await harness()
  t.teardown(() => h.app.close())
  for (const [what, method, url, body, claims, status, reason] of epRows) {
    const reachedBefore = h.reached.length
    const sent = await send(h, method, url, body, claims)
    t.equal(sent.status, status, `${what}: status`)
    t.equal(sent.line?.['reason'], reason, `${what}: reason`)
    t.equal(h.reached.length - reachedBefore, status === 200 ? 1 : 0,
      `${what}: ${status === 200 ? 'reached' : 'did not reach'} the handler`)
  }
})

t.test('the body is handed on unchanged after an EP decision read it', async (t) => {
  const h = await harness()
  t.teardown(() => h.app.close())
  const body = { snapshot: { volume_id: VOL_A, name: 'kept', metadata: { a: 'b' } } }
  const sent = await send(h, 'POST', `/v2/${P}/cloudsnapshots`, body, epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }))
  t.equal(sent.status, 200)
  t.same(h.reached, [`POST /v2/${P}/cloudsnapshots ${JSON.stringify(body)}`])
})

t.test('every Cinder row refuses EP-only grants, with a reason that says so', async (t) => {
  const h = await harness()
  t.teardown(() => h.app.close())
  const cinderRows = snapshotRoutes.filter((row) => !row.enterpriseProject)
  t.equal(cinderRows.length, 26)
  for (const row of cinderRows) {
    const url = row.template.replace('{project_id}', P).replace('{snapshot_id}', SNAP_A).replace('{key}', 'k')
    const body = row.method === 'GET' || row.method === 'DELETE'
      ? undefined
      : { snapshot: { volume_id: VOL_A }, metadata: { k: 'v' }, meta: { k: 'v' }, rollback: { volume_id: VOL_A } }
    const sent = await send(h, row.method, url, body, epOnly({ id: EP_A, actions: ['*'] }))
    t.equal(sent.status, 403, `${row.method} ${row.template}`)
    t.equal(sent.line?.['reason'], 'enterprise-project-unsupported', `${row.method} ${row.template}: reason`)
    // The answer says what to do, not only what is missing; the log line says why the EP grant did not count.
    t.match(JSON.stringify(sent.json), /Enterprise-project grants do not apply to OpenStack Cinder APIs: use the EVS cloudsnapshots API/)
    t.match(sent.line?.['detail'], /do not apply to OpenStack-Cinder rows/)
  }
  const unrelated = await send(h, 'DELETE', `/v2/${P}/snapshots/${SNAP_A}`, undefined, epOnly({ id: EP_A, actions: ['ecs:*:*'] }))
  t.equal(unrelated.line?.['reason'], 'missing-action', 'EP grants that would not allow anyway are just missing actions')
  t.equal(h.calls.length, 0, 'Cinder rows never ask the resolver')
})

t.test('project-wide grants never ask the resolver', async (t) => {
  const h = await harness()
  t.teardown(() => h.app.close())
  const sent = await send(h, 'GET', `/v2/${P}/cloudsnapshots/${SNAP_B}`, undefined,
    JSON.stringify({ project_id: P, actions: ['evs:snapshots:get'], enterprise_projects: [{ id: EP_A, actions: ['*'] }] }))
  t.equal(sent.status, 200)
  t.same(h.calls, [])
})

t.test('resolver failures, timeouts and a missing resolver deny', async (t) => {
  const claims = epOnly({ id: EP_A, actions: ['evs:snapshots:get'] })
  const url = `/v2/${P}/cloudsnapshots/${SNAP_A}`
  const throwing = await harness({}, () => { throw new Error('EVS down') })
  const rejecting = await harness({}, async () => { throw new TypeError('fetch failed') })
  const hanging = await harness({ resolverTimeout: 50 }, async () => await new Promise<string>(() => {}))
  const wrongType = await harness({}, (() => 42) as never)
  const none = await harness({ resolveEnterpriseProject: undefined } as unknown as EvsAuthzOptions)
  t.teardown(async () => { for (const h of [throwing, rejecting, hanging, wrongType, none]) await h.app.close() })
  const expectations: Array<[string, Harness, number, string, RegExp]> = [
    ['a throwing resolver', throwing, 500, 'enterprise-project-error', /threw \(Error\)/],
    ['a rejecting resolver', rejecting, 500, 'enterprise-project-error', /threw \(TypeError\)/],
    ['a resolver that never answers', hanging, 500, 'enterprise-project-error', /timed out after 50 ms/],
    ['a resolver answering a non-id', wrongType, 500, 'enterprise-project-error', /returned a number/],
    ['no resolver configured', none, 403, 'enterprise-project-unresolved', /no resolveEnterpriseProject/]
  ]
  for (const [what, h, status, reason, detail] of expectations) {
    const sent = await send(h, 'GET', url, undefined, claims)
    t.equal(sent.status, status, `${what}: status`)
    t.equal(sent.line?.['reason'], reason, `${what}: reason`)
    t.match(String(sent.line?.['detail']), detail, `${what}: detail`)
    t.equal(h.reached.length, 0, `${what}: nothing reached the handler`)
    t.notMatch(JSON.stringify(sent.json), /EVS down|fetch failed/, `${what}: the error is not echoed`)
  }
})

t.test('resolved EPs are cached within the TTL, and the log says where the EP came from', async (t) => {
  const h = await harness({ enterpriseProjectCache: { ttl: 150 } })
  t.teardown(() => h.app.close())
  const claims = epOnly({ id: EP_A, actions: ['evs:snapshots:get'] })
  const url = `/v2/${P}/cloudsnapshots/${SNAP_A}`
  const first = await send(h, 'GET', url, undefined, claims)
  const second = await send(h, 'GET', url, undefined, claims)
  t.same(h.calls, [`${P}:snapshot:${SNAP_A}`], 'one lookup for two requests within the TTL')
  t.same(first.line?.['enterpriseProjects'], [{ id: EP_A, source: 'resolver', from: 'path' }])
  t.same(second.line?.['enterpriseProjects'], [{ id: EP_A, source: 'cache', from: 'path' }])
  await new Promise((resolve) => setTimeout(resolve, 300))
  const third = await send(h, 'GET', url, undefined, claims)
  t.equal(h.calls.length, 2, 'looked up again after the TTL')
  t.same(third.line?.['enterpriseProjects'], [{ id: EP_A, source: 'resolver', from: 'path' }])
  const listed = await send(h, 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP_A}`, undefined,
    epOnly({ id: EP_A, actions: ['evs:snapshots:list'] }))
  t.same(listed.line?.['enterpriseProjects'], [{ id: EP_A, source: 'query', from: 'query' }])
  const created = await send(h, 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { volume_id: VOL_A } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }))
  t.same(created.line?.['enterpriseProjects'], [{ id: EP_A, source: 'resolver', from: 'body' }])
})

t.test('unknown ids and failures are not cached', async (t) => {
  const backend: { ep: string | undefined } = { ep: undefined }
  const h = await harness({}, () => backend.ep)
  t.teardown(() => h.app.close())
  const claims = epOnly({ id: EP_A, actions: ['evs:snapshots:get'] })
  t.equal((await send(h, 'GET', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined, claims)).status, 403)
  backend.ep = EP_A
  t.equal((await send(h, 'GET', `/v2/${P}/cloudsnapshots/${SNAP_A}`, undefined, claims)).status, 200)
})

t.test('bodies over the limit are refused before any lookup', async (t) => {
  const h = await harness({ bodyLimit: 64 })
  t.teardown(() => h.app.close())
  const sent = await send(h, 'POST', `/v2/${P}/cloudsnapshots`, { snapshot: { volume_id: VOL_A, description: 'x'.repeat(200) } },
    epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }))
  t.equal(sent.status, 400)
  t.equal(sent.line?.['reason'], 'malformed-body')
  t.match(String(sent.line?.['detail']), /exceeds 64 bytes/)
  t.same(h.calls, [])
})

t.test('EP options are validated with the others', async (t) => {
  const app = Fastify()
  app.register(evsAuthz,
    { resolverTimeout: -1, bodyLimit: 1.5, enterpriseProjectCache: { ttl: 0 }, resolveEnterpriseProject: 'x' as never })
  await t.rejects(async () => { await app.ready() },
    {
      code: 'EVS_AUTHZ_ERR_OPTIONS',
      message: /resolveEnterpriseProject[\s\S]*bodyLimit[\s\S]*resolverTimeout[\s\S]*enterpriseProjectCache\.ttl/
    })
})

t.test('audit mode hands on the whole body, even past the limit it read up to', async (t) => {
  const h = await harness({ bodyLimit: 64, mode: 'audit' })
  t.teardown(() => h.app.close())
  const body = { snapshot: { volume_id: VOL_B, description: 'x'.repeat(5000) } }
  const sent = await send(h, 'POST', `/v2/${P}/cloudsnapshots`, body, epOnly({ id: EP_A, actions: ['evs:snapshots:create'] }))
  t.equal(sent.status, 200, 'audit never blocks')
  t.equal(sent.line?.['reason'], 'malformed-body', 'but logs what enforce mode would answer')
  t.equal(sent.line?.['mode'], 'audit')
  t.same(h.reached, [`POST /v2/${P}/cloudsnapshots ${JSON.stringify(body)}`], 'the handler got every byte')
})
