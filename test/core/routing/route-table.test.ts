import t from 'tap'
import { ConfigurationError } from '../../../src/core/support/errors.js'
import { METADATA_KEY_CONSTRAINT, loadRouteTable, type RouteDefinition } from '../../../src/core/routing/route-table.js'
import { snapshotRoutes } from '../../../src/routes/snapshots.js'

const row = (overrides: Partial<Record<keyof RouteDefinition, unknown>> = {}): Record<string, unknown> => ({
  method: 'GET',
  template: '/v2/{project_id}/things/{thing_id}',
  actions: ['evs:things:get'],
  enterpriseProject: false,
  family: 'cinder',
  name: 'Show a thing',
  ...overrides
})

function problemsOf (rows: unknown): string[] {
  try {
    loadRouteTable(rows)
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error
    return error.problems.map((p) => `${p.at}: ${p.message}`)
  }
  return []
}

t.test('the built-in table loads: 19 v2 rows and 13 v3 twins', async (t) => {
  const routes = loadRouteTable(snapshotRoutes)
  t.equal(routes.filter((r) => r.template.startsWith('/v2/')).length, 19)
  t.equal(routes.filter((r) => r.template.startsWith('/v3/')).length, 13)
  t.notOk(routes.some((r) => r.template.startsWith('/v3/') && r.template.includes('cloudsnapshots')))
})

const bad: Array<[string, unknown[], RegExp]> = [
  ['unknown method', [row({ method: 'FETCH' })], /routes\[0\]\.method: should be one of GET, POST, PUT, PATCH, DELETE/],
  ['HEAD rows', [row({ method: 'HEAD' })], /HEAD is authorized as GET/],
  ['wildcard action', [row({ actions: ['evs:things:*'] })], /"evs:things:\*" is not an action name/],
  ['two-part action', [row({ actions: ['evs:get'] })], /is not an action name/],
  ['no actions', [row({ actions: [] })], /actions: should be a non-empty array/],
  ['repeated action', [row({ actions: ['evs:a:get', 'evs:a:get'] })], /lists an action twice/],
  ['missing enterpriseProject', [row({ enterpriseProject: 'yes' })], /enterpriseProject: should be a boolean/],
  ['unknown family', [row({ family: 'nova' })], /family: should be "cinder" or "evs"/],
  ['empty name', [row({ name: ' ' })], /name: should be a non-empty string/],
  ['two params in a segment', [row({ template: '/v2/{project_id}/{a}{b}' })], /only one parameter per segment/],
  ['wildcard template', [row({ template: '/v2/*rest' })], /wildcards are not allowed/],
  ['backslash in a template', [row({ template: '/v2/{project_id}/a\\b' })],
    /routes\[0\]\.template: .*segment 3 "a\\b": backslash at offset 18/],
  ['unclosed brace', [row({ template: '/v2/{project_id/x' })],
    /routes\[0\]\.template: .*segment 2 "\{project_id": unclosed "\{" at offset 4/],
  ['empty description', [row({ description: ' ' })], /routes\[0\]\.description: should be a non-empty string of one line/],
  ['two-line description', [row({ description: 'one\ntwo' })], /routes\[0\]\.description: should be a non-empty string of one line/],
  ['description that is not a string', [row({ description: 42 })], /routes\[0\]\.description: should be a non-empty string of one line/],
  ['constraint for an unknown param', [row({ params: { nope: { pattern: /^a$/ } } })], /params\.nope: names no parameter/],
  ['constraint that is not a RegExp', [row({ params: { thing_id: { pattern: '^a$' } } })],
    /params\.thing_id: should be \{ pattern: RegExp/],
  ['duplicate method and template', [row(), row()], /routes\[1\]: GET \/v2\/\{project_id\}\/things\/\{thing_id\} duplicates routes\[0\]/],
  ['ambiguous templates', [row(), row({ template: '/v2/{project_id}/things/{other_id}' })], /is ambiguous with routes\[0\]/],
  ['two names at one position', [row(), row({ method: 'PUT', template: '/v2/{project_id}/things/{other_id}/x' })],
    /one position takes one parameter name/],
  ['not an array', ['nope'] as unknown as unknown[], /routes\[0\]: should be an object/]
]

for (const [what, rows, expected] of bad) {
  t.test(`rejects ${what}`, async (t) => {
    const problems = problemsOf(rows)
    t.ok(problems.length > 0, 'the loader refuses the table')
    t.match(problems.join('\n'), expected)
  })
}

t.test('every bad row is reported at once, with the error code', async (t) => {
  const rows = [row({ method: 'FETCH' }), row({ template: '/v2/x/' }), row({ actions: ['nope'] })]
  const error = t.throws(() => loadRouteTable(rows)) as ConfigurationError
  t.equal(error.code, 'EVS_AUTHZ_ERR_ROUTE_TABLE')
  t.same(error.problems.map((p) => p.at.replace(/\..*/, '')), ['routes[0]', 'routes[1]', 'routes[2]'])
  t.match(error.message, /3 problems/)
})

t.test('an empty or missing table is refused', async (t) => {
  for (const rows of [[], undefined, {}]) {
    t.throws(() => loadRouteTable(rows), { code: 'EVS_AUTHZ_ERR_ROUTE_TABLE' })
  }
})

t.test('user constraints replace the built-in ones; others keep theirs', async (t) => {
  const [route] = loadRouteTable([row({ params: { thing_id: { pattern: /^t-[0-9]+$/, maxLength: 10 } } })])
  t.equal(route?.constraints['thing_id']?.pattern.source, '^t-[0-9]+$')
  t.equal(route?.constraints['project_id']?.pattern.source, '^[0-9a-f-]+$')
})

t.test('the project id pattern is configurable', async (t) => {
  const [route] = loadRouteTable([row()], { projectIdPattern: /^[0-9A-Z]+$/ })
  t.equal(route?.constraints['project_id']?.pattern.source, '^[0-9A-Z]+$')
})

t.test('metadata keys: Cinder\'s alphabet without "/" and without a format suffix Cinder would strip', async (t) => {
  const { pattern } = METADATA_KEY_CONSTRAINT
  const accepted = ['color', 'k1', 'a.b', 'env:prod', 'has space', 'x-y_z', 'jsonish', 'data.jsonl']
  for (const key of accepted) t.ok(pattern.test(key), `accepts ${key}`)
  for (const key of ['k1.json', 'K1.JSON', 'k1.xml', 'a/b', 'ü', 'k?', '']) t.notOk(pattern.test(key), `refuses ${key}`)
})

t.test('a description is optional and carried into the compiled row', async (t) => {
  const [plain, described] = loadRouteTable([row(), row({ method: 'PUT', description: 'Changes a thing.' })])
  t.notOk(plain !== undefined && Object.hasOwn(plain, 'description'), 'a row without one stays valid')
  t.equal(described?.description, 'Changes a thing.')
  t.ok(loadRouteTable(snapshotRoutes).every((route, i) => route.description === snapshotRoutes[i]?.description))
})
