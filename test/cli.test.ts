import t from 'tap'
import fc from 'fast-check'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
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
  t.match(table.out,
    /DELETE\s+\/v2\/\{project_id\}\/snapshots\/\{snapshot_id\}\s+evs:snapshots:delete \+ evs:snapshots:get \+ evs:volumes:get/)
  const json = JSON.parse(run('routes', '--format', 'json').out) as unknown[]
  t.equal(json.length, 32)
  t.match(run('routes', '--format', 'markdown').out, /^\| Method \| Template \|/)
  t.equal(run('routes', '--format', 'yaml').status, 2)
  t.equal(run('routes', 'extra').status, 2)
})

// [what, argv, status, output pattern]
const explains: Array<[string, string[], number, RegExp]> = [
  ['a Cinder route with its actions and EP support', ['explain', 'DELETE', `/v2/${P}/snapshots/${SNAP}`], 0,
    new RegExp(String.raw`route:\s+Delete a snapshot \(OpenStack Cinder\)[\s\S]*` +
      String.raw`actions:\s+evs:snapshots:delete, evs:snapshots:get, evs:volumes:get[\s\S]*EP:\s+IAM project only`)],
  ['an EP-capable route', ['explain', 'get', `/v2/${P}/cloudsnapshots/detail`], 0, /EP:\s+enterprise-project authorization supported/],
  ['a v3 twin', ['explain', 'GET', `/v3/${P}/snapshots/${SNAP}/metadata/color`], 0,
    /row:\s+GET \/v3\/\{project_id\}\/snapshots\/\{snapshot_id\}\/metadata\/\{key\}[\s\S]*key=color/],
  ['a rejected spelling', ['explain', 'GET', `/v2/${P}/snapshots/%64etail`], 0, /rejected: 400 malformed-path \(encoded-unreserved\)/],
  ['no route', ['explain', 'GET', `/v2/${P}/backups`], 0, /no route matches GET .*denied 403 route-not-found/],
  ['a constraint that fails', ['explain', 'GET', `/v2/${P}/snapshots/detail.json`], 0, /\{snapshot_id\} does not fit its constraint/],
  ['no row for the method', ['explain', 'PATCH', `/v2/${P}/snapshots`], 0, /no row for PATCH on this path \(rows: POST, GET\)/],
  ['outside the API', ['explain', 'GET', '/health'], 0, /outside the guarded API space/],
  ['a prefix', ['explain', '--prefix', '/evs', 'GET', `/evs/v2/${P}/snapshots`], 0, /List snapshots \(OpenStack Cinder\)/],
  ['unmatched pass', ['explain', '--unmatched', 'pass', 'GET', `/v2/${P}/volumes`], 0, /passed through \(unmatched: pass\)/],
  ['missing arguments', ['explain', 'GET'], 2, /explain needs METHOD and PATH/],
  ['a bad prefix', ['explain', '--prefix', 'evs/', 'GET', '/x'], 2, /--prefix should start with '\/'/],
  ['a prefix written with =', ['explain', '--prefix=/evs', 'GET', `/evs/v2/${P}/snapshots`], 0, /List snapshots \(OpenStack Cinder\)/],
  ['--prefix swallowing the method is refused, not read as a prefix',
    ['explain', '--prefix', 'GET', `/v2/${P}/snapshots`], 2, /--prefix should start with '\/', instead got 'GET'/],
  ['options after METHOD PATH', ['explain', 'GET', `/evs/v2/${P}/snapshots`, '--prefix', '/evs'], 0, /List snapshots/],
  ['a bad --unmatched', ['explain', '--unmatched', 'allow', 'GET', '/x'], 2, /--unmatched should be deny or pass, instead got 'allow'/],
  ['a flag of another command', ['explain', '--claims', 'x.json', 'GET', '/x'], 2, /explain does not take --claims/]
]

for (const [what, argv, status, pattern] of explains) {
  t.test(`explain: ${what}`, async (t) => {
    const result = run(...argv)
    t.equal(result.status, status)
    t.match(status === 0 ? result.out : result.err, pattern)
  })
}

t.test('explain --json', async (t) => {
  const result =
    JSON.parse(run('explain', '--json', 'POST',
      `/v2/${P}/cloudsnapshots/${SNAP}/rollback`).out) as { route: { actions: string[], enterpriseProject: boolean } }
  t.same(result.route.actions, ['evs:snapshots:rollback'])
  t.equal(result.route.enterpriseProject, true)
  t.same(JSON.parse(run('explain', '--json', 'GET', '/health').out), { guarded: false })
})

t.test('check: exit 0 on allow, 1 on deny, with the reason and missing actions', async (t) => {
  const dir = t.testdir({
    'reader.json': JSON.stringify({ project_id: P, sub: 'u1', actions: ['evs:snapshots:get', 'evs:snapshots:list'] }),
    'roles.json': JSON.stringify({ project_id: P, roles: ['Snapshot Operator'] }),
    'policies.json': JSON.stringify({
      'Snapshot Operator': {
        Version: '1.1',
        Statement: [{ Effect: 'Allow', Action: ['evs:*:*'] }, { Effect: 'Deny', Action: ['evs:snapshots:delete'] }]
      }
    }),
    'broken.json': '{ nope',
    'bad-policies.json': JSON.stringify({ X: { Version: '9' } })
  })
  const allow = run('check', '--claims', join(dir, 'reader.json'), 'GET', `/v2/${P}/snapshots/${SNAP}`)
  t.equal(allow.status, 0)
  t.match(allow.out, /^allow: granted/)
  const deny = run('check', '--claims', join(dir, 'reader.json'), 'DELETE', `/v2/${P}/snapshots/${SNAP}`)
  t.equal(deny.status, 1)
  t.match(deny.out,
    new RegExp(String.raw`deny 403: missing-action[\s\S]*missing:\s+evs:snapshots:delete, evs:volumes:get[\s\S]*` +
      String.raw`Policy doesn't allow evs:snapshots:delete to be performed`))
  const role = run('check', '--claims', join(dir, 'roles.json'), '--policies', join(dir, 'policies.json'), 'DELETE',
    `/v2/${P}/cloudsnapshots/${SNAP}`)
  t.equal(role.status, 1)
  t.match(role.out, /explicit-deny/)
  const roleAllow = run('check', '--claims', join(dir, 'roles.json'), '--policies', join(dir, 'policies.json'), 'POST',
    `/v2/${P}/cloudsnapshots`)
  t.equal(roleAllow.status, 0)
  const json =
    JSON.parse(run('check', '--json', '--claims', join(dir, 'reader.json'), 'PUT',
      `/v2/${P}/snapshots/${SNAP}`).out) as { allowed: boolean, status: number, missing: string[] }
  t.same([json.allowed, json.status, json.missing], [false, 403, ['evs:snapshots:update']])
  t.equal(run('check', '--claims', join(dir, 'reader.json'), 'GET', '/health').status, 0)
  t.match(run('check', '--claims', join(dir, 'nope.json'), 'GET', '/x').err, /--claims: cannot read .*nope\.json.*ENOENT/)
  t.match(run('check', '--claims', join(dir, 'broken.json'), 'GET', '/x').err, /--claims: .*broken\.json' is not valid JSON/)
  const badPolicies = run('check', '--claims', join(dir, 'reader.json'), '--policies', join(dir, 'bad-policies.json'), 'GET', '/x')
  t.match(badPolicies.err, /^evs-authz: EVS_AUTHZ_ERR_POLICY: [^\n]+\n$/)
  t.equal(run('check', 'GET', '/x').status, 2)
})

t.test('usage errors, help and version', async (t) => {
  t.match(run('--help').out, /Usage: evs-authz <command>/)
  t.match(run('-v').out, /^\d+\.\d+\.\d+\n$/)
  const unknownFlag = run('routes', '--bogus')
  t.equal(unknownFlag.status, 2)
  t.equal(unknownFlag.err, "evs-authz: unknown option '--bogus' (see evs-authz --help)\n")
  // A near miss of a real flag is named; Node's own wording (with its unbalanced quotes) is not shown.
  for (const [typo, flag] of [['--fromat', 'format'], ['--claim=x.json', 'claims'], ['--polices', 'policies']] as const) {
    t.equal(run('routes', typo).err, `evs-authz: unknown option '${typo.split('=')[0]}' (did you mean --${flag}?) (see evs-authz --help)\n`)
  }
  t.equal(run('routes', '-x').err, "evs-authz: unknown option '-x' (see evs-authz --help)\n")
  const unknownCommand = run('frobnicate')
  t.equal(unknownCommand.status, 2)
  t.match(unknownCommand.err, /unknown command 'frobnicate'/)
  t.equal(run().status, 2)
})

t.test('--help lists exactly the flags each command accepts', async (t) => {
  const help = run('--help').out
  const accepted: Record<string, string[]> = {
    routes: ['format'],
    explain: ['prefix', 'unmatched', 'json'],
    check: ['claims', 'policies', 'ep', 'body', 'prefix', 'unmatched', 'json']
  }
  const all = ['format', 'claims', 'policies', 'ep', 'body', 'prefix', 'unmatched', 'json', 'config']
  t.match(help, /^ {2}gateway --config FILE\n/m, 'gateway: its help line')
  t.match(run('--config', 'x.json', 'gateway').err, /write the command first: evs-authz gateway --config FILE/)
  const dir = t.testdir({ 'c.json': JSON.stringify({ project_id: P }) })
  const file = join(dir, 'c.json')
  const values: Record<string, string | undefined> = {
    format: 'json', claims: file, policies: file, ep: 'e1', body: file, prefix: '/evs', unmatched: 'pass', json: undefined, config: file
  }
  for (const [command, flags] of Object.entries(accepted)) {
    const line = help.split('\n').find((l) => l.startsWith(`  ${command} `) || l === `  ${command}`) ?? ''
    t.same([...line.matchAll(/--([a-z]+)/g)].map((m) => m[1]), flags, `${command}: the help line names its flags`)
    for (const flag of all) {
      const argv = [command, `--${flag}`, ...(values[flag] === undefined ? [] : [values[flag] as string])]
      if (command === 'check' && flag !== 'claims') argv.push('--claims', join(dir, 'c.json'))
      if (command !== 'routes') argv.push('GET', '/health')
      const result = run(...argv)
      if (flags.includes(flag)) t.not(result.err, /does not take/, `${command} accepts --${flag}`)
      else t.match(result.err, `${command} does not take --${flag}`, `${command} refuses --${flag}`)
    }
  }
})

t.test('check evaluates enterprise-project routes with --ep (and --body for create and rollback)', async (t) => {
  const EP = 'a1b2c3d4-0000-4000-8000-00000000e002'
  const VOL = '6f0c3ac5-8d1e-4a6b-b5f0-4b0e3e6c1a02'
  const dir = t.testdir({
    'ep.json': JSON.stringify({ sub: 'erin', project_id: P, enterprise_projects: [{ id: EP, roles: ['EVS FullAccess'] }] }),
    'create.json': JSON.stringify({ snapshot: { volume_id: VOL, name: 'x' } }),
    'nobody.json': JSON.stringify({ snapshot: { name: 'x' } })
  })
  const claims = ['--claims', join(dir, 'ep.json')]
  const cases: Array<[string, string[], number, RegExp]> = [
    ['show, in the granted EP', [...claims, '--ep', EP, 'GET', `/v2/${P}/cloudsnapshots/${SNAP}`], 0, /^allow: granted/],
    ['show, in another EP', [...claims, '--ep', 'other-ep', 'GET', `/v2/${P}/cloudsnapshots/${SNAP}`], 1, /^deny 403/],
    ['delete, in the granted EP', [...claims, '--ep=' + EP, 'DELETE', `/v2/${P}/cloudsnapshots/${SNAP}`], 0, /^allow: granted/],
    ['create with the body, in the granted EP',
      [...claims, '--ep', EP, '--body', join(dir, 'create.json'), 'POST', `/v2/${P}/cloudsnapshots`], 0, /^allow: granted/],
    ['create with a body that names no volume',
      [...claims, '--ep', EP, '--body', join(dir, 'nobody.json'), 'POST', `/v2/${P}/cloudsnapshots`], 1, /malformed-body/],
    ['list naming the EP in the query (no --ep needed)',
      [...claims, 'GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${EP}`], 0, /^allow: granted/],
    ['a Cinder row: EP grants do not count',
      [...claims, '--ep', EP, 'GET', `/v2/${P}/snapshots/${SNAP}`], 1, /enterprise-project-unsupported/]
  ]
  for (const [what, argv, status, pattern] of cases) {
    const result = run('check', ...argv)
    t.equal(result.status, status, what)
    t.match(result.out, pattern, what)
  }
  const noEp = run('check', ...claims, 'GET', `/v2/${P}/cloudsnapshots/${SNAP}`)
  const needsEp = `evs-authz: the decision needs the enterprise project of snapshot ${SNAP}: give --ep ID (see evs-authz --help)\n`
  t.same([noEp.status, noEp.err], [2, needsEp])
  const noBody = run('check', ...claims, '--ep', EP, 'POST', `/v2/${P}/cloudsnapshots`)
  t.equal(noBody.status, 2)
  t.match(noBody.err, /reads its enterprise project from the JSON body: give --body FILE/)
})

t.test('hostile or broken input never crashes check: exit 0, 1 or 2, and errors are one line without a stack', async (t) => {
  const dir = t.testdir({})
  const claimKeys = ['roles', 'policies', 'actions', 'project_id', 'token', 'Statement', 'Condition']
  const names = [...Object.getOwnPropertyNames(Object.prototype), ...claimKeys]
  const hostileKey = fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 }))
  const claims = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }), fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }), fc.array(tie('value'), { maxLength: 3 })
    )
  })).value
  let file = 0
  await fc.assert(fc.asyncProperty(claims, fc.constantFrom('GET', 'DELETE', 'POST'), async (value, method) => {
    const path = join(dir, `c${file++}.json`)
    const fields = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { roles: value }
    writeFileSync(path, JSON.stringify({ project_id: P, ...fields }))
    const result = run('check', '--claims', path, '--policies', path, method, `/v2/${P}/snapshots/${SNAP}`)
    t.ok([0, 1, 2].includes(result.status))
    if (result.status === 2) t.match(result.err, /^evs-authz: [^\n]+\n$/, 'one line')
    t.notMatch(result.err, /\n\s+at /, 'no stack trace')
    return true
  }), { numRuns: 200 })
})
