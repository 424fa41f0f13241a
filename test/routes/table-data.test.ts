// The built-in table as documented data: its actions come from named constants that are exactly the seed table's
// action names, a misspelt action fails to compile, and every row carries a one-line description.
import t from 'tap'
import { EVS_ACTIONS, type EvsAction } from '../../src/routes/actions.js'
import { snapshotRoutes, type BuiltInRoute } from '../../src/routes/snapshots.js'
import { loadRouteTable } from '../../src/core/routing/route-table.js'
import { seedRows } from '../fixtures/seed-table.js'

const constants: readonly string[] = Object.values(EVS_ACTIONS)

t.test('the action constants are exactly the seed table\'s action names', async (t) => {
  t.same([...constants].sort(), [...new Set(seedRows.flatMap((row) => row.actions))].sort())
  t.equal(new Set(constants).size, constants.length, 'no two constants share a value')
})

t.test('every action constant is used by the built-in table, and the table uses nothing else', async (t) => {
  const used = new Set(snapshotRoutes.flatMap((route) => route.actions))
  for (const [name, action] of Object.entries(EVS_ACTIONS)) t.ok(used.has(action), `EVS_ACTIONS.${name} (${action}) is used`)
  t.same([...used].filter((action) => !constants.includes(action)), [], 'no action outside EVS_ACTIONS')
})

t.test('a misspelt action is a compile error in a built-in row (checked by npm run typecheck)', async (t) => {
  // @ts-expect-error 'evs:snapshot:get' (singular) is not an EvsAction
  const typo: EvsAction = 'evs:snapshot:get'
  const row: BuiltInRoute = {
    method: 'GET',
    template: '/v2/{project_id}/snapshots',
    // @ts-expect-error a built-in row takes actions from EVS_ACTIONS only
    actions: ['evs:snapshots:lsit'],
    enterpriseProject: false,
    family: 'cinder',
    name: 'typo',
    description: 'A row that must not compile.'
  }
  // The loader still accepts both spellings: the grammar cannot tell a typo from a custom action, the type can.
  t.equal(loadRouteTable([{ ...row, actions: [typo] }]).length, 1)
})

t.test('every built-in row has a one-line description, distinct between v2 rows', async (t) => {
  for (const route of snapshotRoutes) {
    const { description } = route
    t.type(description, 'string', `${route.method} ${route.template}`)
    t.ok(description !== undefined && description.trim() !== '' && !/[\r\n]/.test(description), `${route.name}: one non-empty line`)
  }
  const v2 = snapshotRoutes.filter((route) => route.template.startsWith('/v2/'))
  t.equal(new Set(v2.map((route) => route.description)).size, v2.length, 'each v2 row says what it does in its own words')
})

t.test('a v3 twin describes the same call as its v2 row', async (t) => {
  const byKey = new Map(snapshotRoutes.map((route) => [`${route.method} ${route.template}`, route]))
  for (const route of snapshotRoutes.filter((r) => r.template.startsWith('/v3/'))) {
    t.equal(route.description, byKey.get(`${route.method} /v2/${route.template.slice('/v3/'.length)}`)?.description, route.name)
  }
})
