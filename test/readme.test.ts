import t from 'tap'
import { readFileSync } from 'node:fs'
import { formatRouteTable } from '../src/core/routing/route-docs.js'
import { snapshotRoutes } from '../src/routes/snapshots.js'
import { OPTION_NAMES } from '../src/core/support/option-names.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

t.test('the README route table is generated from the built-in table (npm run docs)', async (t) => {
  const block = /<!-- routes:start[^>]*-->\n([\s\S]*?)\n<!-- routes:end -->/.exec(readme)
  t.ok(block, 'README has the generated block')
  t.equal(block?.[1], formatRouteTable(snapshotRoutes, 'markdown'))
})

t.test('the README documents every option, reason and error code', async (t) => {
  const documented = ['grants', 'routes', 'prefix', 'mode', 'unmatched', 'policies', 'onDecision', 'projectIdPattern',
    'malformed-path', 'method-override', 'no-credentials', 'invalid-grants', 'grants-error', 'route-not-found',
    'method-not-allowed', 'project-mismatch', 'explicit-deny', 'missing-action', 'granted', 'unmatched-pass',
    'EVS_AUTHZ_ERR_ROUTE_TABLE', 'EVS_AUTHZ_ERR_OPTIONS', 'EVS_AUTHZ_ERR_POLICY',
    'malformed-body', 'enterprise-project-unsupported', 'enterprise-project-required', 'enterprise-project-unresolved',
    'enterprise-project-error', 'cross-project-query', 'not-guarded',
    ...OPTION_NAMES, 'EVS_AUTHZ_ERR_REGISTERED', 'EVS_AUTHZ_WARN_SILENT_LOGGER', 'evsAuthzFrameworkErrors']
  for (const word of documented) t.match(readme, `\`${word}\``, `README mentions \`${word}\``)
})

t.test('the route table renders as json and as a text table, descriptions included', async (t) => {
  const json = JSON.parse(formatRouteTable(snapshotRoutes, 'json')) as Array<{ template: string, actions: string[], description: string }>
  t.equal(json.length, snapshotRoutes.length)
  t.same(json[0]?.actions, ['evs:snapshots:create', 'evs:volumes:get'])
  t.same(json.map((row) => row.description), snapshotRoutes.map((route) => route.description))
  const text = formatRouteTable(snapshotRoutes, 'table').split('\n')
  t.equal(text.length, snapshotRoutes.length + 2)
  t.match(text[0], /^Method\s+Template\s+Required actions \(all\)\s+EP\s+Family\s+Name\s+Description$/)
  t.match(text[2], /^POST\s+\/v2\/\{project_id\}\/snapshots\s+evs:snapshots:create \+ evs:volumes:get\s+no\s+cinder/)
  snapshotRoutes.forEach((route, i) => t.ok(text[i + 2]?.endsWith(`  ${route.description ?? ''}`), `${route.name}: description last`))
})

t.test('the README table shows every built-in row\'s description', async (t) => {
  for (const route of snapshotRoutes) t.ok(readme.includes(` | ${route.description ?? '(none)'} |`), route.name)
})
