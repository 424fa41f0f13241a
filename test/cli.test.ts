import t from 'tap'
import { join } from 'node:path'
import { main } from '../src/cli.js'

const P = '0123456789abcdef0123456789abcdef'
const SNAP = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

function run (...argv: string[]): { status: number, out: string, err: string } {
  let out = ''
  let err = ''
  const status = main(argv, { out: (text) => { out += text }, err: (text) => { err += text } })
  return { status, out, err }
}

t.test('routes prints the built-in table in three formats', async (t) => {
  const table = run('routes')
  t.equal(table.status, 0)
  t.match(table.out, /^Method\s+Template\s+Required actions/)
  t.match(table.out, /DELETE\s+\/v2\/\{project_id\}\/snapshots\/\{snapshot_id\}\s+evs:snapshots:delete \+ evs:snapshots:get \+ evs:volumes:get/)
  const json = JSON.parse(run('routes', '--format', 'json').out) as unknown[]
  t.equal(json.length, 32)
  t.match(run('routes', '--format', 'markdown').out, /^\| Method \| Template \|/)
  t.equal(run('routes', '--format', 'yaml').status, 2)
  t.equal(run('routes', 'extra').status, 2)
})

// [what, argv, status, output pattern]
const explains: Array<[string, string[], number, RegExp]> = [
  ['a Cinder route with its actions and EP support', ['explain', 'DELETE', `/v2/${P}/snapshots/${SNAP}`], 0, /route:\s+Delete a snapshot \(OpenStack Cinder\)[\s\S]*actions:\s+evs:snapshots:delete, evs:snapshots:get, evs:volumes:get[\s\S]*EP:\s+IAM project only/],
  ['an EP-capable route', ['explain', 'get', `/v2/${P}/cloudsnapshots/detail`], 0, /EP:\s+enterprise-project authorization supported/],
  ['a v3 twin', ['explain', 'GET', `/v3/${P}/snapshots/${SNAP}/metadata/color`], 0, /row:\s+GET \/v3\/\{project_id\}\/snapshots\/\{snapshot_id\}\/metadata\/\{key\}[\s\S]*key=color/],
  ['a rejected spelling', ['explain', 'GET', `/v2/${P}/snapshots/%64etail`], 0, /rejected: 400 malformed-path \(encoded-unreserved\)/],
  ['no route', ['explain', 'GET', `/v2/${P}/backups`], 0, /no route matches GET .*denied 403 route-not-found/],
  ['a constraint that fails', ['explain', 'GET', `/v2/${P}/snapshots/detail.json`], 0, /\{snapshot_id\} does not fit its constraint/],
  ['no row for the method', ['explain', 'PATCH', `/v2/${P}/snapshots`], 0, /no row for PATCH on this path \(rows: POST, GET\)/],
  ['outside the API', ['explain', 'GET', '/health'], 0, /outside the guarded API space/],
  ['a prefix', ['explain', '--prefix', '/evs', 'GET', `/evs/v2/${P}/snapshots`], 0, /List snapshots \(OpenStack Cinder\)/],
  ['unmatched pass', ['explain', '--unmatched', 'pass', 'GET', `/v2/${P}/volumes`], 0, /passed through \(unmatched: pass\)/],
  ['missing arguments', ['explain', 'GET'], 2, /explain needs METHOD and PATH/],
  ['a bad prefix', ['explain', '--prefix', 'evs/', 'GET', '/x'], 2, /prefix: should be/]
]

for (const [what, argv, status, pattern] of explains) {
  t.test(`explain: ${what}`, async (t) => {
    const result = run(...argv)
    t.equal(result.status, status)
    t.match(status === 0 ? result.out : result.err, pattern)
  })
}

t.test('explain --json', async (t) => {
  const result = JSON.parse(run('explain', '--json', 'POST', `/v2/${P}/cloudsnapshots/${SNAP}/rollback`).out) as { route: { actions: string[], enterpriseProject: boolean } }
  t.same(result.route.actions, ['evs:snapshots:rollback'])
  t.equal(result.route.enterpriseProject, true)
  t.same(JSON.parse(run('explain', '--json', 'GET', '/health').out), { guarded: false })
})

t.test('check: exit 0 on allow, 1 on deny, with the reason and missing actions', async (t) => {
  const dir = t.testdir({
    'reader.json': JSON.stringify({ project_id: P, sub: 'u1', actions: ['evs:snapshots:get', 'evs:snapshots:list'] }),
    'roles.json': JSON.stringify({ project_id: P, roles: ['Snapshot Operator'] }),
    'policies.json': JSON.stringify({ 'Snapshot Operator': { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:*:*'] }, { Effect: 'Deny', Action: ['evs:snapshots:delete'] }] } }),
    'broken.json': '{ nope',
    'bad-policies.json': JSON.stringify({ X: { Version: '9' } })
  })
  const allow = run('check', '--claims', join(dir, 'reader.json'), 'GET', `/v2/${P}/snapshots/${SNAP}`)
  t.equal(allow.status, 0)
  t.match(allow.out, /^allow: granted/)
  const deny = run('check', '--claims', join(dir, 'reader.json'), 'DELETE', `/v2/${P}/snapshots/${SNAP}`)
  t.equal(deny.status, 1)
  t.match(deny.out, /deny 403: missing-action[\s\S]*missing:\s+evs:snapshots:delete, evs:volumes:get[\s\S]*Policy doesn't allow evs:snapshots:delete to be performed/)
  const role = run('check', '--claims', join(dir, 'roles.json'), '--policies', join(dir, 'policies.json'), 'DELETE', `/v2/${P}/cloudsnapshots/${SNAP}`)
  t.equal(role.status, 1)
  t.match(role.out, /explicit-deny/)
  const roleAllow = run('check', '--claims', join(dir, 'roles.json'), '--policies', join(dir, 'policies.json'), 'POST', `/v2/${P}/cloudsnapshots`)
  t.equal(roleAllow.status, 0)
  const json = JSON.parse(run('check', '--json', '--claims', join(dir, 'reader.json'), 'PUT', `/v2/${P}/snapshots/${SNAP}`).out) as { allowed: boolean, status: number, missing: string[] }
  t.same([json.allowed, json.status, json.missing], [false, 403, ['evs:snapshots:update']])
  t.equal(run('check', '--claims', join(dir, 'reader.json'), 'GET', '/health').status, 0)
  t.match(run('check', '--claims', join(dir, 'nope.json'), 'GET', '/x').err, /--claims: cannot read .*nope\.json.*ENOENT/)
  t.match(run('check', '--claims', join(dir, 'broken.json'), 'GET', '/x').err, /--claims: .*broken\.json' is not valid JSON/)
  t.match(run('check', '--claims', join(dir, 'reader.json'), '--policies', join(dir, 'bad-policies.json'), 'GET', '/x').err, /EVS_AUTHZ_ERR_POLICY|Invalid policy catalogue/)
  t.equal(run('check', 'GET', '/x').status, 2)
})

t.test('usage errors, help and version', async (t) => {
  t.match(run('--help').out, /Usage: evs-authz <command>/)
  t.match(run('-v').out, /^\d+\.\d+\.\d+\n$/)
  const unknownFlag = run('routes', '--bogus')
  t.equal(unknownFlag.status, 2)
  t.match(unknownFlag.err, /Unknown option '--bogus'/)
  const unknownCommand = run('frobnicate')
  t.equal(unknownCommand.status, 2)
  t.match(unknownCommand.err, /unknown command 'frobnicate'/)
  t.equal(run().status, 2)
})
