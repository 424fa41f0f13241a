// The demo's in-memory EVS backend serves every route of the built-in table with Huawei/Cinder-shaped
// bodies, and the built-in enterprise-project resolver reads enterprise projects from it.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { upstreamEnterpriseProjectResolver } from '../src/index.js'
import { snapshotRoutes } from '../src/routes/snapshots.js'
import { DEMO, buildEvsBackend } from '../examples/evs-backend.js'

// [method, template] → [request body, expected status, top-level key of the answer (undefined: empty)]
const expectations: Record<string, [unknown, number, string | undefined]> = {
  'POST /snapshots': [{ snapshot: { volume_id: DEMO.volume, name: 'n', metadata: { a: 'b' } } }, 202, 'snapshot'],
  'POST /cloudsnapshots': [{ snapshot: { volume_id: DEMO.volume, name: 'n' } }, 200, 'snapshot'],
  'GET /snapshots': [undefined, 200, 'snapshots'],
  'GET /snapshots/detail': [undefined, 200, 'snapshots'],
  'GET /cloudsnapshots/detail': [undefined, 200, 'snapshots'],
  'PUT /snapshots/{snapshot_id}': [{ snapshot: { name: 'renamed', description: 'd' } }, 200, 'snapshot'],
  'PUT /cloudsnapshots/{snapshot_id}': [{ snapshot: { name: 'renamed' } }, 200, 'snapshot'],
  'GET /snapshots/{snapshot_id}': [undefined, 200, 'snapshot'],
  'GET /cloudsnapshots/{snapshot_id}': [undefined, 200, 'snapshot'],
  'DELETE /snapshots/{snapshot_id}': [undefined, 202, undefined],
  'DELETE /cloudsnapshots/{snapshot_id}': [undefined, 200, undefined],
  'POST /cloudsnapshots/{snapshot_id}/rollback': [{ rollback: { volume_id: DEMO.volume } }, 202, 'rollback'],
  'POST /os-vendor-snapshots/{snapshot_id}/rollback': [{ rollback: { volume_id: DEMO.volume } }, 202, 'rollback'],
  'POST /snapshots/{snapshot_id}/metadata': [{ metadata: { color: 'red' } }, 200, 'metadata'],
  'GET /snapshots/{snapshot_id}/metadata': [undefined, 200, 'metadata'],
  'PUT /snapshots/{snapshot_id}/metadata/{key}': [{ meta: { env: 'prod' } }, 200, 'meta'],
  'PUT /snapshots/{snapshot_id}/metadata': [{ metadata: { only: 'this' } }, 200, 'metadata'],
  'GET /snapshots/{snapshot_id}/metadata/{key}': [undefined, 200, 'meta'],
  'DELETE /snapshots/{snapshot_id}/metadata/{key}': [undefined, 200, undefined]
}

t.test('every built-in route is served with the documented answer shape', async (t) => {
  for (const row of snapshotRoutes) {
    const backend = buildEvsBackend()
    const key = `${row.method} ${row.template.replace(/^\/v[23]\/\{project_id\}/, '')}`
    const expected = expectations[key]
    if (expected === undefined) {
      t.fail(`no expectation for ${key}`)
      continue
    }
    const [body, status, top] = expected
    const url = row.template.replace('{project_id}', DEMO.project).replace('{snapshot_id}', DEMO.snapshot).replace('{key}', 'env')
    const response = await backend.inject({ method: row.method, url, ...(body === undefined ? {} : { payload: body as object }) })
    t.equal(response.statusCode, status, `${row.method} ${row.template}`)
    if (top === undefined) t.equal(response.body, '', `${row.method} ${row.template}: empty body`)
    else t.ok(top in response.json(), `${row.method} ${row.template}: answers { ${top} }`)
    await backend.close()
  }
})

t.test('the backend answers like EVS for what does not exist or is malformed', async (t) => {
  const backend = buildEvsBackend()
  t.teardown(() => backend.close())
  const p = `/v2/${DEMO.project}`
  const cases: Array<[string, string, unknown, number, string]> = [
    ['GET', '/v2/ffffffffffffffffffffffffffffffff/snapshots', undefined, 404, 'itemNotFound'],
    ['GET', `${p}/snapshots/nope`, undefined, 404, 'itemNotFound'],
    ['POST', `${p}/cloudsnapshots`, { snapshot: { volume_id: 'nope' } }, 400, 'badRequest'],
    ['POST', `${p}/cloudsnapshots/${DEMO.snapshot}/rollback`, { rollback: { volume_id: DEMO.devVolume } }, 400, 'badRequest'],
    ['POST', `${p}/snapshots/${DEMO.snapshot}/metadata`, {}, 400, 'badRequest'],
    ['PUT', `${p}/snapshots/${DEMO.snapshot}/metadata/env`, { meta: { other: 'x' } }, 400, 'badRequest'],
    ['GET', `${p}/snapshots/${DEMO.snapshot}/metadata/nope`, undefined, 404, 'itemNotFound'],
    ['GET', `${p}/cloudvolumes/nope`, undefined, 404, 'itemNotFound']
  ]
  for (const [method, url, body, status, fault] of cases) {
    const response = await backend.inject({ method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }) })
    t.equal(response.statusCode, status, `${method} ${url}`)
    t.ok(fault in response.json(), `${method} ${url}: ${fault}`)
  }
  const filtered = await backend.inject({ method: 'GET', url: `${p}/cloudsnapshots/detail?enterprise_project_id=${DEMO.devEp}` })
  t.same(filtered.json().snapshots.map((s: { id: string }) => s.id), [DEMO.devSnapshot], 'lists filter by the volume\'s enterprise project')
})

t.test('the built-in resolver reads enterprise projects from the EVS API', async (t) => {
  const seen: string[] = []
  const backend = buildEvsBackend({ onRequest: (method, url) => seen.push(`${method} ${url}`) })
  backend.addHook('onRequest', async (request, reply) => {
    if (request.headers['x-auth-token'] !== 'service-token') await reply.code(401).send({})
  })
  await backend.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => backend.close())
  const upstream = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}`
  const resolve = upstreamEnterpriseProjectResolver({ upstream: `${upstream}/`, token: async () => 'service-token' })
  const ask = async (kind: 'snapshot' | 'volume', id: string): Promise<string | undefined> =>
    await resolve({ kind, id, projectId: DEMO.project, request: undefined })
  t.equal(await ask('volume', DEMO.volume), DEMO.productionEp)
  t.equal(await ask('snapshot', DEMO.devSnapshot), DEMO.devEp)
  t.equal(await ask('snapshot', 'nope'), undefined, 'unknown snapshot')
  t.equal(await ask('volume', 'nope'), undefined, 'unknown volume')
  t.same(seen.slice(0, 3), [
    `GET /v2/${DEMO.project}/cloudvolumes/${DEMO.volume}`,
    `GET /v2/${DEMO.project}/cloudsnapshots/${DEMO.devSnapshot}`,
    `GET /v2/${DEMO.project}/cloudvolumes/${DEMO.devVolume}`
  ])
  const badToken = upstreamEnterpriseProjectResolver({ upstream, token: 'wrong' })
  await t.rejects(async () => await badToken({ kind: 'volume', id: DEMO.volume, projectId: DEMO.project, request: undefined }),
    /upstream answered 401/)
  const unreachable = upstreamEnterpriseProjectResolver({ upstream: 'http://127.0.0.1:9', token: 't', timeout: 500 })
  await t.rejects(async () => await unreachable({ kind: 'volume', id: DEMO.volume, projectId: DEMO.project, request: undefined }))
})

t.test('all_granted_eps lists the EPs the forwarded token grants, as EVS does', async (t) => {
  const jwt = (claims: object): string => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`
  const cases: Array<[string, Record<string, string>, string[]]> = [
    ['EP-scoped grant for dev only',
      { 'x-auth-token': jwt({ enterprise_projects: [{ id: DEMO.devEp, actions: ['evs:snapshots:list'] }] }) }, [DEMO.devSnapshot]],
    ['project-wide grant', { 'x-auth-token': jwt({ actions: ['evs:snapshots:list'] }) }, [DEMO.snapshot, DEMO.devSnapshot]],
    ['no token', {}, []],
    ['an unreadable token', { 'x-auth-token': 'not-a-jwt.%%%.x' }, []]
  ]
  for (const [name, headers, expected] of cases) {
    const backend = buildEvsBackend()
    const answer =
      await backend.inject({
        method: 'GET',
        url: `/v2/${DEMO.project}/cloudsnapshots/detail?enterprise_project_id=all_granted_eps`,
        headers
      })
    t.equal(answer.statusCode, 200, name)
    t.same((answer.json() as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id).sort(), [...expected].sort(), name)
    await backend.close()
  }
})
