// Reproduces the profiles quoted in the README "Performance" section:
// (after `node scripts/build-bench.mjs`, which builds the JavaScript the figures come from):
//   node .bench-build/bench/profile.js gateway  -> CPU profile of the evs-authz gateway (b) under load
//   node --cpu-prof --cpu-prof-dir=/tmp/evs-authz-profiles .bench-build/bench/profile.js decision
//   node --cpu-prof --cpu-prof-dir=/tmp/evs-authz-profiles .bench-build/bench/profile.js versus  (section 0's mix, te_admin)
//   node .bench-build/bench/profile.js top <file.cpuprofile>
// and prints the functions with the most self time (profiles land in <tmpdir>/evs-authz-profiles/).
import { fork } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { createAuthorizer, snapshotRoutes, type RequestTarget } from 'evs-authz'
import { childScript } from './lib/child.js'
import { DECISION_HEADERS } from './lib/decision.js'
import { PROJECT, plainActions, requestMix, routeRequests, tenantAdmin } from './lib/fixtures.js'
import { signToken } from './lib/gateway.js'
import type { ReadyMessage } from './lib/servers.js'

const DIR = join(tmpdir(), 'evs-authz-profiles')
const SERVERS = childScript(new URL('./lib/', import.meta.url).href, 'servers')
const SECRET = 'evs-authz-bench-profile-secret'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number } }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

/** Self time by function, as a share of all samples (idle excluded). */
export function topFunctions (file: string, count = 20): Array<{ share: number, where: string }> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const time = new Map<number, number>()
  profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const self = new Map<string, number>()
  let total = 0
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    const t = time.get(node.id) ?? 0
    total += t
    const where = `${functionName || '(anonymous)'} ${url.split('/').slice(-3).join('/')}:${lineNumber + 1}`
    self.set(where, (self.get(where) ?? 0) + t)
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count).map(([where, t]) => ({ share: t / total, where }))
}

function start (kind: string, args: string[], execArgv: string[]): Promise<{ child: ReturnType<typeof fork>, port: number }> {
  const child = fork(SERVERS.path, [kind, ...args],
    { execArgv: [...execArgv, ...SERVERS.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as ReadyMessage).port }))
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${String(code)}`)))
  })
}

async function gateway (): Promise<void> {
  mkdirSync(DIR, { recursive: true })
  const backend = await start('backend', [], [])
  const gatewayServer = await start('evs-authz', [`http://127.0.0.1:${backend.port}`, SECRET], ['--cpu-prof', `--cpu-prof-dir=${DIR}`])
  const token = signToken({ sub: 'u-admin', project_id: PROJECT, roles: ['te_admin'] }, SECRET)
  const requests = routeRequests(snapshotRoutes).map((q) => ({ method: q.method, path: q.url, headers: { 'x-auth-token': token } }))
  await autocannon({ url: `http://127.0.0.1:${gatewayServer.port}`, connections: 50, duration: 8, requests })
  const exited = new Promise((resolve) => gatewayServer.child.once('exit', resolve))
  gatewayServer.child.disconnect() // the child exits on disconnect, which writes its profile
  await exited
  backend.child.kill('SIGTERM')
  const newest =
    readdirSync(DIR).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(DIR, f)).sort((a, b) =>
      statSync(b).mtimeMs - statSync(a).mtimeMs)
  // One file per thread: CPU.<date>.<time>.<pid>.<thread>.<seq>; thread 0 is the main thread (tsx's loader is another).
  const file = newest.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
  if (file === undefined) throw new Error('no profile written')
  console.log(`profile: ${file}`)
  for (const { share, where } of topFunctions(file, 30)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${where}`)
}

function decision (): void {
  const authorizer = createAuthorizer()
  const headers = { host: '127.0.0.1:8080', accept: 'application/json', 'x-auth-token': 't' }
  const requests: RequestTarget[] = routeRequests(snapshotRoutes).map((q) => ({ method: q.method, url: q.url, headers }))
  const personas = [tenantAdmin(), plainActions()]
  let allowed = 0
  const until = Date.now() + 5000
  while (Date.now() < until) {
    for (const claims of personas) for (const request of requests) if (authorizer.authorize(request, claims)?.kind === 'allow') allowed++
  }
  console.log(`${allowed} allows; pass the main thread's .cpuprofile to \`bench/profile.ts top\``)
}

/** The loop of section 0: the seed table's mix (20% unmatched) with the decision section's headers, te_admin, cached. */
function versus (): void {
  const authorizer = createAuthorizer()
  const requests: RequestTarget[] = requestMix().map((q) => ({ method: q.method, url: q.url, headers: DECISION_HEADERS }))
  const claims = tenantAdmin()
  let routes = 0
  const until = Date.now() + 5000
  while (Date.now() < until) {
    for (let r = 0; r < 100; r++) for (const request of requests) if (authorizer.authorize(request, claims).route !== undefined) routes++
  }
  console.log(`${routes} matched; pass the main thread's .cpuprofile to \`bench/profile.ts top\``)
}

const mode = process.argv[2]
if (mode === 'gateway') await gateway()
else if (mode === 'decision') decision()
else if (mode === 'versus') versus()
else if (mode === 'top' && process.argv[3] !== undefined) {
  for (const { share, where } of topFunctions(process.argv[3], 30)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${where}`)
} else console.log('usage: bench/profile.ts gateway | decision | versus | top <file.cpuprofile>')
