// The built-in route table must be exactly the seed permission table (hand transcription in
// fixtures/seed-table.ts) plus its v3 twins: nothing missing, nothing invented, nothing altered.
import t from 'tap'
import { snapshotRoutes } from '../../src/index.js'
import { seedRows, seedV2Rows, seedV3Rows, type SeedRow } from '../fixtures/seed-table.js'

const key = (row: { method: string, template: string }): string => `${row.method} ${row.template}`
const builtIn = new Map(snapshotRoutes.map((route) => [key(route), route]))

t.test('the hand transcription itself has the seed shape', async (t) => {
  t.equal(seedV2Rows.length, 19, '19 rows in the seed table')
  t.equal(seedV3Rows.length, 13, 'every row but the 6 cloudsnapshots rows has a v3 twin')
  t.equal(seedV2Rows.filter((row) => row.family === 'evs').length, 6)
  t.equal(new Set(seedRows.map(key)).size, 32, 'no duplicate method + template')
})

t.test('the built-in table has exactly 32 routes: 19 v2 and 13 v3', async (t) => {
  t.equal(snapshotRoutes.length, 32)
  t.equal(snapshotRoutes.filter((route) => route.template.startsWith('/v2/')).length, 19)
  t.equal(snapshotRoutes.filter((route) => route.template.startsWith('/v3/')).length, 13)
  t.equal(builtIn.size, 32, 'no duplicate method + template in the built-in table')
})

t.test('same set of method + template pairs as the transcription', async (t) => {
  t.same([...builtIn.keys()].sort(), seedRows.map(key).sort())
})

for (const row of seedRows) {
  t.test(`${key(row)} matches the seed (${row.seedName})`, async (t) => {
    const route = builtIn.get(key(row))
    if (route === undefined) {
      t.fail(`${key(row)} is missing from snapshotRoutes`)
      return
    }
    t.same([...route.actions], [...row.actions], 'same actions in the same order')
    t.same(new Set(route.actions), new Set(row.actions), 'same actions as a set')
    t.equal(route.actions.length, row.actions.length, 'no action listed twice')
    t.equal(route.enterpriseProject, row.enterpriseProject, 'enterprise project support (企业项目)')
    t.equal(route.family, row.family, 'API family')
    t.type(route.name, 'string')
    t.ok(route.name.trim().length > 0, 'has a non-empty name')
  })
}

t.test('no /v3/.../cloudsnapshots route is invented', async (t) => {
  const invented = snapshotRoutes.filter((route) =>
    route.template.startsWith('/v3/') && route.template.toLowerCase().includes('cloudsnapshots'))
  t.same(invented.map(key), [])
})

t.test('every v3 route has a v2 twin with the same method, actions, EP scope and family', async (t) => {
  for (const route of snapshotRoutes.filter((r) => r.template.startsWith('/v3/'))) {
    const twin = builtIn.get(`${route.method} /v2/${route.template.slice('/v3/'.length)}`)
    t.ok(twin, `${key(route)} has a v2 twin`)
    if (twin === undefined) continue
    t.same([...route.actions], [...twin.actions], `${key(route)} actions`)
    t.equal(route.enterpriseProject, twin.enterpriseProject)
    t.equal(route.family, twin.family)
  }
})

const expectedEvsRows: Array<Pick<SeedRow, 'method' | 'template'>> = [
  { method: 'POST', template: '/v2/{project_id}/cloudsnapshots' },
  { method: 'GET', template: '/v2/{project_id}/cloudsnapshots/detail' },
  { method: 'PUT', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}' },
  { method: 'GET', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}' },
  { method: 'DELETE', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}' },
  { method: 'POST', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback' }
]

t.test('only the six cloudsnapshots routes are EVS-family and enterprise-project scoped', async (t) => {
  const evs = snapshotRoutes.filter((route) => route.family === 'evs').map(key).sort()
  const ep = snapshotRoutes.filter((route) => route.enterpriseProject).map(key).sort()
  t.same(evs, expectedEvsRows.map(key).sort())
  t.same(ep, expectedEvsRows.map(key).sort())
})
