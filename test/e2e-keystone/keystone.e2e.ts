// The real thing end to end: Debian's Keystone (scripts/keystone/) and a Cinder with
// auth_strategy = keystone and enforce_new_defaults = true (scripts/cinder/, CINDER_AUTH=keystone), with
// `evs-authz gateway` (the built bin, a child process) registered as the catalog's volumev3 endpoint.
// The real `openstack` and `cinder` CLIs use PASSWORD auth (openrc files from provision.sh): no pre-made
// tokens, no endpoint override. Tokens appear only where a persona is about one token (revocation,
// Keystone down, 50 concurrent requests, URLs of another project).
//
// Not part of `npm test`: `npm run test:e2e:keystone` (.ci/run starts Keystone and Cinder first).
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runProgram, until, type Ran } from '../fixtures/e2e.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const KEYSTONE_DIR = process.env['KEYSTONE_DIR'] ?? join(tmpdir(), 'evs-authz-keystone')
const CINDER_DIR = process.env['CINDER_DIR'] ?? join(tmpdir(), 'evs-authz-cinder-keystone')
const KEYSTONE_PORT = readFileSync(join(KEYSTONE_DIR, 'port'), 'utf8').trim()
const KEYSTONE = `http://127.0.0.1:${KEYSTONE_PORT}`
const CINDER = `http://127.0.0.1:${readFileSync(join(CINDER_DIR, 'port'), 'utf8').trim()}`
const GATEWAY_PORT = Number(process.env['GATEWAY_PORT'] ?? 18800)
const METRICS_PORT = Number(process.env['GATEWAY_METRICS_PORT'] ?? GATEWAY_PORT + 1)
const GATEWAY = `http://127.0.0.1:${GATEWAY_PORT}`
/** Short, so the revocation persona does not wait long; still long enough for hits inside one CLI run. */
const CACHE_SECONDS = 4
const SUITE_STARTED = Date.now()
const RUN = Date.now().toString(36)

const passwords =
  Object.fromEntries(readFileSync(join(KEYSTONE_DIR, 'passwords.env'), 'utf8').trim().split('\n').map((line) =>
    line.split('=', 2) as [string, string]))
const projects =
  new Map(readFileSync(join(KEYSTONE_DIR, 'projects'), 'utf8').trim().split('\n').map((line) =>
    line.split(' ').reverse() as [string, string]))
const A = projects.get('evs-a') as string
const B = projects.get('evs-b') as string

// ---------------------------------------------------------------------------------------------
// Processes

function openrc (user: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONWARNINGS: 'ignore' }
  for (const match of readFileSync(join(KEYSTONE_DIR, `openrc-${user}`), 'utf8').matchAll(/(OS_[A-Z_]+)=(\S+)/g)) {
    env[match[1] as string] = match[2]
  }
  return env
}

async function run (file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return await runProgram('/usr/bin/python3', [file, ...args], { env })
}
let cliRuns = 0
const openstack = async (user: string,
  ...args: string[]): Promise<Ran> => { cliRuns++; return await run('/usr/bin/openstack', args, openrc(user)) }
const cinder = async (user: string,
  ...args: string[]): Promise<Ran> => { cliRuns++; return await run('/usr/bin/cinder', args, openrc(user)) }

async function script (name: string): Promise<Ran> {
  return await runProgram(join(ROOT, 'scripts/keystone', name), [], { env: { ...process.env, KEYSTONE_DIR } })
}

// ---------------------------------------------------------------------------------------------
// Keystone and Cinder, read directly (the truth), never through the gateway.

async function issueToken (user: string, project: string): Promise<string> {
  const key = `KS_PASSWORD_${user.toUpperCase().replaceAll('-', '_').replace('EVS_GATEWAY', 'GATEWAY')}`
  const response = await fetch(`${KEYSTONE}/v3/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password: passwords[key] } } },
        scope: { project: { name: project, domain: { name: 'Default' } } }
      }
    })
  })
  await response.arrayBuffer()
  const token = response.headers.get('x-subject-token')
  if (response.status !== 201 || token === null) throw new Error(`token issue for ${user} answered ${response.status}`)
  return token
}

let memberToken = ''
async function direct (method: string, project: string, path: string, body?: unknown,
  token = memberToken): Promise<{ status: number, json: Record<string, unknown> }> {
  const response = await fetch(`${CINDER}/v3/${project}${path}`, {
    method,
    headers: { 'x-auth-token': token, 'openstack-api-version': 'volume 3.70', 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, json: text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : {} }
}

interface Snapshot { id: string, name: string | null, status: string, volume_id: string, metadata: Record<string, string> }

async function snapshotsOf (project: string, token = memberToken): Promise<Snapshot[]> {
  return ((await direct('GET', project, '/snapshots/detail', undefined, token)).json['snapshots'] ?? []) as Snapshot[]
}
async function snapshotNamed (project: string, name: string, token = memberToken): Promise<Snapshot | undefined> {
  return (await snapshotsOf(project, token)).find((s) => s.name === name)
}
async function availableNamed (project: string, name: string, token = memberToken): Promise<Snapshot> {
  return await until(`snapshot ${name} to become available`, async () => {
    const snapshot = await snapshotNamed(project, name, token)
    if (snapshot?.status === 'error') throw new Error(`snapshot ${name} went to error`)
    return snapshot?.status === 'available' ? snapshot : undefined
  })
}
async function volumeAvailable (project: string, id: string, token = memberToken): Promise<void> {
  await until(`volume ${id} to become available`, async () => {
    const volume = (await direct('GET', project, `/volumes/${id}`, undefined, token)).json['volume'] as { status: string } | undefined
    return volume?.status === 'available' ? true : undefined
  })
}

const cinderLog = (): string => readFileSync(join(CINDER_DIR, 'cinder.log'), 'utf8')
/** Validations that reached Keystone, from its access log: the gateway's (nocatalog) and Cinder's own. */
function keystoneValidations (): { gateway: number, cinder: number, gatewayMs: number[] } {
  const lines = readFileSync(join(KEYSTONE_DIR, 'uwsgi.log'), 'utf8').split('\n')
  const gateway = lines.filter((l) => l.includes('GET /v3/auth/tokens?nocatalog '))
  return {
    gateway: gateway.length,
    cinder: lines.filter((l) => l.includes('GET /v3/auth/tokens ')).length,
    gatewayMs: gateway.map((l) => Number(/in (\d+) msecs/.exec(l)?.[1] ?? NaN)).filter(Number.isFinite)
  }
}

// ---------------------------------------------------------------------------------------------
// The gateway: the built bin, as an operator runs it

let gateway: ChildProcess | undefined
let gatewayOut = ''
const work = mkdtempSync(join(tmpdir(), 'evs-authz-e2e-keystone-'))
const configFile = join(work, 'gateway.json')
writeFileSync(configFile, JSON.stringify({
  listen: { host: '127.0.0.1', port: GATEWAY_PORT },
  upstream: CINDER,
  identity: {
    keystone: {
      url: KEYSTONE,
      publicUrl: `${KEYSTONE}/v3`,
      username: 'evs-gateway',
      passwordEnv: 'EVS_GATEWAY_PASSWORD',
      projectName: 'service',
      cacheSeconds: CACHE_SECONDS,
      timeoutMs: 2000
    }
  },
  policies: {
    'snapshot-operator': {
      Version: '1.1',
      Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:*', 'evs:volumes:get'] }, { Effect: 'Deny', Action: ['evs:snapshots:delete'] }]
    }
  },
  authz: { unmatched: 'pass' },
  metrics: { host: '127.0.0.1', port: METRICS_PORT },
  logLevel: 'info'
}, null, 2))

async function startGateway (): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/bin.js'), 'gateway', '--config', configFile], {
    env: { ...process.env, EVS_GATEWAY_PASSWORD: passwords['KS_PASSWORD_GATEWAY'] },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  gateway = child
  child.stdout?.on('data', (chunk: Buffer) => { gatewayOut += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { gatewayOut += chunk.toString() })
  await until('the gateway to be ready', async () => {
    try {
      return (await fetch(`${GATEWAY}/readyz`)).status === 200 ? true : undefined
    } catch {
      return undefined
    }
  })
}

interface DecisionLine { reason: string, decision: string, requestId: string, status?: number, path: string, detail?: string }
function decisionLines (): DecisionLine[] {
  return gatewayOut.split('\n').filter((l) => l.includes('"evs-authz decision"')).map((l) => JSON.parse(l) as DecisionLine)
}
/** The decision line of a request id; the gateway's stdout may arrive just after its answer. */
async function decisionLine (id: string | undefined): Promise<DecisionLine | undefined> {
  try {
    return await until(`the decision line of ${String(id)}`, async () => decisionLines().find((l) => l.requestId === id), 5000)
  } catch {
    return undefined
  }
}
async function metric (name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text()
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
}

/** The CLI's printed Request-ID is the decision line's requestId, and Cinder never saw it. */
async function deniedByGate (t: Test, ran: Ran, message: RegExp, reason: string): Promise<void> {
  t.not(ran.code, 0, 'the command fails')
  t.match(ran.out, message, 'the client prints the gate\'s readable message')
  const id = /\(Request-ID: (req-[0-9a-f-]+)\)/.exec(ran.out)?.[1]
  t.ok(id, 'the client prints a Request-ID')
  t.match(await decisionLine(id), { decision: 'deny', reason }, 'that Request-ID is the decision line\'s')
  t.notOk(cinderLog().includes(id as string), 'the request never reached Cinder')
}

let validationsBefore = 0
t.before(async () => {
  validationsBefore = keystoneValidations().gatewayMs.length
  memberToken = await issueToken('a-member', 'evs-a')
  await startGateway()
})
t.teardown(async () => {
  if (gateway !== undefined && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway?.once('exit', resolve))
    gateway.kill('SIGTERM')
    await exited
  }
  // Keystone must be left running for the other suites, whatever happened mid-run.
  if (!existsSync(join(KEYSTONE_DIR, 'keystone.pid'))) await script('start.sh')
})

// ---------------------------------------------------------------------------------------------

const volumeName = `e2e-vol-${RUN}`
const shared = `e2e-snap-${RUN}`
let volumeId = ''
let snapshotId = ''

t.test('member of A: every snapshot command succeeds with the backend\'s real answers (password auth, catalog endpoint)', async (t) => {
  const created = await openstack('a-member', 'volume', 'create', '--size', '1', volumeName, '-f', 'value', '-c', 'id')
  t.equal(created.code, 0, created.out)
  volumeId = created.out.trim().split('\n').at(-1) as string
  await volumeAvailable(A, volumeId)

  const snap = await openstack('a-member', 'volume', 'snapshot', 'create', '--volume', volumeName, '--property', 'keep=yes', shared,
    '-f', 'value', '-c', 'id')
  t.equal(snap.code, 0, snap.out)
  snapshotId = (await availableNamed(A, shared)).id
  t.equal(snap.out.trim().split('\n').at(-1), snapshotId, 'the id the CLI printed is Cinder\'s')

  const listed = await openstack('a-member', 'volume', 'snapshot', 'list', '-f', 'value', '-c', 'ID')
  t.equal(listed.code, 0, listed.out)
  t.same(listed.out.trim().split('\n').sort(), (await snapshotsOf(A)).map((s) => s.id).sort(), 'the list is Cinder\'s list')
  const shown = await openstack('a-member', 'volume', 'snapshot', 'show', snapshotId, '-f', 'json')
  t.equal(shown.code, 0, shown.out)
  t.match(JSON.parse(shown.out), { id: snapshotId, name: shared, status: 'available' })

  t.equal((await openstack('a-member', 'volume', 'snapshot', 'set', '--name', `${shared}-r`, snapshotId)).code, 0)
  t.equal((await openstack('a-member', 'volume', 'snapshot', 'set', '--property', 'tier=gold', snapshotId)).code, 0)
  t.equal((await openstack('a-member', 'volume', 'snapshot', 'unset', '--property', 'keep', snapshotId)).code, 0)
  let truth = await snapshotNamed(A, `${shared}-r`)
  t.same(truth?.metadata, { tier: 'gold' }, 'renamed, property set and unset in Cinder')

  const cinderList = await cinder('a-member', 'snapshot-list')
  t.equal(cinderList.code, 0, cinderList.out)
  t.match(cinderList.out, snapshotId)
  t.equal((await cinder('a-member', 'snapshot-show', snapshotId)).code, 0)
  t.equal((await cinder('a-member', 'snapshot-rename', snapshotId, shared)).code, 0)
  t.equal((await cinder('a-member', 'snapshot-metadata', snapshotId, 'set', 'owner=a')).code, 0)
  t.equal((await cinder('a-member', 'snapshot-metadata', snapshotId, 'unset', 'tier')).code, 0)
  truth = await snapshotNamed(A, shared)
  t.same(truth?.metadata, { owner: 'a' }, 'the cinder CLI\'s writes are in Cinder')

  const extra = `e2e-del-${RUN}`
  t.equal((await cinder('a-member', 'snapshot-create', '--name', extra, volumeId)).code, 0)
  const doomed = await availableNamed(A, extra)
  t.equal((await cinder('a-member', 'snapshot-delete', doomed.id)).code, 0)
  const extra2 = `e2e-del2-${RUN}`
  t.equal((await openstack('a-member', 'volume', 'snapshot', 'create', '--volume', volumeName, extra2)).code, 0)
  const doomed2 = await availableNamed(A, extra2)
  t.equal((await openstack('a-member', 'volume', 'snapshot', 'delete', doomed2.id)).code, 0)
  await until('both deletes', async () => (await snapshotsOf(A)).some((s) => s.id === doomed.id || s.id === doomed2.id) ? undefined : true)
})

t.test('reader of A: reads succeed; writes are denied by the gate (readable 403, Request-ID in the decision line), ' +
  'nothing reaches Cinder', async (t) => {
  const before = JSON.stringify(await snapshotsOf(A))
  const listed = await openstack('a-reader', 'volume', 'snapshot', 'list', '-f', 'value', '-c', 'ID')
  t.equal(listed.code, 0, listed.out)
  t.match(listed.out, snapshotId)
  t.equal((await openstack('a-reader', 'volume', 'snapshot', 'show', snapshotId)).code, 0)
  t.equal((await cinder('a-reader', 'snapshot-list')).code, 0)
  t.equal((await cinder('a-reader', 'snapshot-show', snapshotId)).code, 0)

  await deniedByGate(t, await openstack('a-reader', 'volume', 'snapshot', 'create', '--volume', volumeName, `e2e-reader-${RUN}`),
    /Policy doesn't allow evs:snapshots:create to be performed\. \(HTTP 403\)/, 'missing-action')
  await deniedByGate(t, await openstack('a-reader', 'volume', 'snapshot', 'set', '--name', 'x', snapshotId),
    /Policy doesn't allow evs:snapshots:update to be performed/, 'missing-action')
  await deniedByGate(t, await openstack('a-reader', 'volume', 'snapshot', 'delete', snapshotId),
    /Policy doesn't allow evs:snapshots:delete to be performed/, 'missing-action')
  await deniedByGate(t, await cinder('a-reader', 'snapshot-metadata', snapshotId, 'set', 'k=v'),
    /Policy doesn't allow evs:snapshots:update to be performed/, 'missing-action')
  t.equal(JSON.stringify(await snapshotsOf(A)), before, 'Cinder\'s state is unchanged')
})

t.test('snapshot-operator (a role mapped by `policies`, Deny delete): delete denied by the gate, which Cinder alone allows', async (t) => {
  const name = `e2e-op-${RUN}`
  t.equal((await openstack('a-operator', 'volume', 'snapshot', 'create', '--volume', volumeName, name)).code, 0, 'the operator creates')
  const snapshot = await availableNamed(A, name)
  t.equal((await openstack('a-operator', 'volume', 'snapshot', 'set', '--name', `${name}-r`, snapshot.id)).code, 0, 'and updates')
  await deniedByGate(t, await openstack('a-operator', 'volume', 'snapshot', 'delete', snapshot.id),
    /Policy doesn't allow evs:snapshots:delete to be performed/, 'explicit-deny')
  t.ok(await snapshotNamed(A, `${name}-r`), 'still there')
  // Differential: the same caller straight to Cinder (member role) may delete it.
  const operatorToken = await issueToken('a-operator', 'evs-a')
  t.equal((await direct('DELETE', A, `/snapshots/${snapshot.id}`, undefined, operatorToken)).status, 202,
    'Cinder alone would have deleted it')
})

t.test('member of B: A\'s snapshot is not found through B\'s URL; A\'s URL with B\'s token is refused by the gate', async (t) => {
  const shown = await openstack('b-member', 'volume', 'snapshot', 'show', snapshotId)
  t.not(shown.code, 0)
  t.match(shown.out, /No snapshot with a name or ID of/)
  const deleted = await cinder('b-member', 'snapshot-delete', snapshotId)
  t.not(deleted.code, 0)
  const bToken = await issueToken('b-member', 'evs-b')
  const before = cinderLog().length
  const response = await fetch(`${GATEWAY}/v3/${A}/snapshots/${snapshotId}`, { method: 'DELETE', headers: { 'x-auth-token': bToken } })
  t.equal(response.status, 403)
  t.match(await response.json(), { forbidden: { message: /Project ID in the URI is different/ } })
  t.notOk(cinderLog().slice(before).includes(response.headers.get('x-openstack-request-id') as string), 'never reached Cinder')
  t.ok(await snapshotNamed(A, shared), 'A\'s snapshot is still there')
})

t.test('admin of B: A\'s URL is denied by the gate; --all-projects shows only B (Cinder alone would show A too)', async (t) => {
  const adminToken = await issueToken('b-admin', 'evs-b')
  const response = await fetch(`${GATEWAY}/v3/${A}/snapshots/${snapshotId}`, { headers: { 'x-auth-token': adminToken } })
  t.equal(response.status, 403)
  t.match(await response.json(), { forbidden: { message: /Project ID in the URI is different/ } })
  const listed = await openstack('b-admin', 'volume', 'snapshot', 'list', '--all-projects', '-f', 'value', '-c', 'ID')
  t.equal(listed.code, 0, listed.out)
  t.notMatch(listed.out, snapshotId, 'all_tenants was stripped at the gate')
  const alone = await direct('GET', B, '/snapshots/detail?all_tenants=1', undefined, adminToken)
  t.ok((alone.json['snapshots'] as Snapshot[]).some((s) => s.id === snapshotId),
    'differential: Cinder alone shows B\'s admin A\'s snapshot')
})

t.test('no token: keystonemiddleware\'s 401 with WWW-Authenticate naming the public Keystone', async (t) => {
  const response = await fetch(`${GATEWAY}/v3/${A}/snapshots`)
  t.equal(response.status, 401)
  t.equal(response.headers.get('www-authenticate'), `Keystone uri="${KEYSTONE}/v3"`)
  t.same(await response.json(),
    { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } })
  const garbage = await fetch(`${GATEWAY}/v3/${A}/snapshots`, { headers: { 'x-auth-token': 'gAAAAAgarbage' } })
  t.equal(garbage.status, 401)
  await garbage.arrayBuffer()
})

t.test('50 concurrent requests with one fresh token: exactly one validation reaches Keystone', async (t) => {
  const token = await issueToken('a-member', 'evs-a')
  const before = keystoneValidations()
  const answers = await Promise.all(Array.from({ length: 50 }, async () => {
    const response = await fetch(`${GATEWAY}/v3/${A}/snapshots`, { headers: { 'x-auth-token': token } })
    await response.arrayBuffer()
    return response.status
  }))
  t.same([...new Set(answers)], [200])
  await new Promise((resolve) => setTimeout(resolve, 300)) // uwsgi writes its access line after answering
  const after = keystoneValidations()
  t.equal(after.gateway - before.gateway, 1, 'one validation from the gateway (coalesced, then cached)')
  t.comment(`for comparison, Cinder's keystonemiddleware validated the same token ${after.cinder - before.cinder} time(s) ` +
    'for the 50 forwarded requests')
})

t.test('a revoked token is refused once the cache time has passed', async (t) => {
  const token = (await openstack('a-member', 'token', 'issue', '-f', 'value', '-c', 'id')).out.trim().split('\n').at(-1) as string
  const get = async (): Promise<number> => {
    const response = await fetch(`${GATEWAY}/v3/${A}/snapshots`, { headers: { 'x-auth-token': token } })
    await response.arrayBuffer()
    return response.status
  }
  t.equal(await get(), 200)
  const revoked = await run('/usr/bin/openstack', ['token', 'revoke', token], openrc('a-member'))
  t.equal(revoked.code, 0, revoked.out)
  t.equal(await get(), 200,
    `still accepted from the gateway cache right after the revocation (documented: up to cacheSeconds=${CACHE_SECONDS})`)
  await new Promise((resolve) => setTimeout(resolve, CACHE_SECONDS * 1000 + 500))
  t.equal(await get(), 401, 'refused once the cache time has passed')
})

t.test('Keystone stopped mid-run: 503 and nothing reaches Cinder; requests succeed again after it restarts', async (t) => {
  const fresh = await issueToken('a-member', 'evs-a')
  const stopped = await script('stop.sh')
  t.equal(stopped.code, 0, stopped.out)
  const before = cinderLog().length
  const response = await fetch(`${GATEWAY}/v3/${A}/snapshots`, { headers: { 'x-auth-token': fresh } })
  t.equal(response.status, 503)
  t.same(await response.json(), { serviceUnavailable: { code: 503, message: 'The Keystone service is temporarily unavailable.' } })
  const id = response.headers.get('x-openstack-request-id') as string
  t.match(await decisionLine(id), { status: 503, detail: /identity-unavailable/ }, 'the decision line says 503 and why')
  t.notOk(cinderLog().slice(before).includes(id), 'nothing reached Cinder')
  const ready = await fetch(`${GATEWAY}/readyz`)
  t.equal(ready.status, 503, 'readyz reports Keystone down')
  await ready.arrayBuffer()
  const restarted = await script('start.sh')
  t.equal(restarted.code, 0, restarted.out)
  const again = await fetch(`${GATEWAY}/v3/${A}/snapshots`, { headers: { 'x-auth-token': fresh } })
  t.equal(again.status, 200, 'the same token works again')
  await again.arrayBuffer()
  const listed = await openstack('a-member', 'volume', 'snapshot', 'list')
  t.equal(listed.code, 0, listed.out)
})

t.test('figures: validation latency, cache hit ratio, suite time', async (t) => {
  const hits = await metric('evs_authz_token_cache_lookups_total{result="hit"}')
  const coalesced = await metric('evs_authz_token_cache_lookups_total{result="coalesced"}')
  const misses = await metric('evs_authz_token_cache_lookups_total{result="miss"}')
  const lookups = await metric('evs_authz_token_cache_lookups_total')
  const validations = await metric('evs_authz_token_validations_total')
  const seconds = await metric('evs_authz_token_validation_seconds_sum')
  const ms = keystoneValidations().gatewayMs.slice(validationsBefore).sort((a, b) => a - b)
  t.ok(lookups > 0 && validations > 0)
  t.equal(misses, validations, 'every miss is one validation; hits and coalesced waits made none')
  t.comment(`cache: ${lookups} lookups: ${hits} hits, ${coalesced} coalesced, ${misses} misses ` +
    `(${validations} validations reached Keystone); served without a Keystone call of their own: ` +
    `${((lookups - misses) / lookups).toFixed(2)}, from the cache alone: ${(hits / lookups).toFixed(2)}`)
  t.comment(`validation latency at the gateway: mean ${(1000 * seconds / validations).toFixed(1)} ms; ` +
    `Keystone's own time p50 ${ms[Math.floor(ms.length / 2)] ?? NaN} ms over ${ms.length}`)
  t.comment(`${cliRuns} CLI runs; suite time ${((Date.now() - SUITE_STARTED) / 1000).toFixed(1)} s`)
  // The gateway drains and exits 0 on SIGTERM.
  const exited = new Promise<number | null>((resolve) => gateway?.once('exit', (code) => resolve(code)))
  gateway?.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM: drained, exit 0')
})
