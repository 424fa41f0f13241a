// formatRouteTable (src/core/routing/route-docs.ts) on custom rows: every format shows the description, a row
// without one stays valid and gets an empty cell, and Markdown cells cannot be broken by a "|".
import t from 'tap'
import { formatRouteTable } from '../../../src/core/routing/route-docs.js'
import type { RouteDefinition } from '../../../src/core/routing/route-table.js'

const bare: RouteDefinition = {
  method: 'PUT',
  template: '/v2/{project_id}/os-quota-sets/{target_project_id}',
  actions: ['evs:quotas:update'],
  enterpriseProject: false,
  family: 'cinder',
  name: 'Set quotas'
}
const described: RouteDefinition = {
  ...bare,
  method: 'GET',
  actions: ['evs:quotas:get'],
  name: 'Show quotas',
  description: 'Shows a project\'s quotas | usage.'
}

t.test('json: the description is a field, absent when the row has none', async (t) => {
  const rows = JSON.parse(formatRouteTable([described, bare], 'json')) as Array<Record<string, unknown>>
  t.equal(rows[0]?.['description'], described.description)
  t.notOk(Object.hasOwn(rows[1] ?? {}, 'description'))
})

t.test('markdown: a Description column, "|" escaped, an empty cell for a row without one', async (t) => {
  const lines = formatRouteTable([described, bare], 'markdown').split('\n')
  t.equal(lines[0], '| Method | Template | Required actions (all) | EP | Family | Name | Description |')
  t.equal(lines[2], '| `GET` | `/v2/{project_id}/os-quota-sets/{target_project_id}` | `evs:quotas:get` | no | cinder | Show quotas | ' +
    'Shows a project\'s quotas \\| usage. |')
  t.equal(lines[3]?.split(' | ').length, 7, 'seven cells')
  t.match(lines[3], /\| Set quotas \| {2}\|$/)
})

t.test('table: the description is the last column', async (t) => {
  const lines = formatRouteTable([described, bare], 'table').split('\n')
  t.match(lines[0], /Name\s+Description$/)
  t.ok(lines[2]?.endsWith('Show quotas  Shows a project\'s quotas | usage.'))
  t.ok(lines[3]?.endsWith('Set quotas'), 'no trailing blanks when there is no description')
})
