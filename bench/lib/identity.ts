// Section 5: identity. (1) `evs-authz gateway` with the Keystone identity and a warm cache vs the same
// gateway with the JWT identity (autocannon, interleaved rounds, separate processes); (2) the cost a
// cached validation adds (identity.grants() on a hit, ns); (3) the cold validation cost against a fake
// Keystone on loopback (a real Keystone adds its own 10-30 ms: see the real-Keystone e2e figures).
import { fork, type ChildProcess } from 'node:child_process'
import autocannon from 'autocannon'
import { keystoneIdentity, snapshotRoutes, type KeystoneClaims } from 'evs-authz'
import { startFakeKeystone } from '../../test/identity/fake-keystone.js'
import { childScript } from './child.js'
import { PROJECT, routeRequests } from './fixtures.js'
import { signToken } from './gateway.js'
import type { IdentityReady } from './identity-servers.js'
import { median, rotation, sink } from './stats.js'

export interface IdentitySettings {
  readonly connections: number
  readonly warmupRequests: number
  readonly seconds: number
  readonly rounds: number
  readonly coldSamples: number
}

export interface IdentityResult {
  readonly settings: IdentitySettings
  readonly reqPerSec: { readonly keystone: number, readonly jwt: number }
  readonly perRound: { readonly keystone: number[], readonly jwt: number[] }
  readonly keystoneOverJwt: number
  /** identity.grants() on a cache hit: SHA-256 of the token, LRU lookup, expiry check. */
  readonly cachedValidationNs: number
  /** A miss against the fake Keystone on loopback (HTTP round trip + parsing), median. */
  readonly coldValidationMs: number
}

function start (file: string, args: readonly string[]): Promise<{ child: ChildProcess, ready: IdentityReady }> {
  const script = childScript(import.meta.url, file)
  const child = fork(script.path, [...args], { execArgv: [...script.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} ${args[0] ?? ''} did not start within 30 s`)), 30_000)
    child.once('message', (message) => { clearTimeout(timer); resolve({ child, ready: message as IdentityReady }) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${file} exited with ${String(code)}`)) })
  })
}

async function load (port: number, token: string, seconds: number, amount?: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 50,
    duration: seconds,
    ...(amount === undefined ? {} : { amount }),
    requests: routeRequests(snapshotRoutes).map((q) =>
      ({ method: q.method, path: q.url, headers: { 'x-auth-token': token, accept: 'application/json' } }))
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`identity bench: ${result.non2xx} non-2xx, ${result.errors} errors on port ${port}`)
  }
  return result.requests.average
}

async function cachedCost (samples: number): Promise<{ hitNs: number, coldMs: number, cold: number[] }> {
  const fake = await startFakeKeystone()
  try {
    const identity = keystoneIdentity({ url: fake.url, credentials: { ...fake.user, projectName: 'service' } })
    const cold: number[] = []
    for (let i = 0; i < samples; i++) {
      const token = fake.add({ project: { id: PROJECT }, roles: ['te_admin'] })
      const started = process.hrtime.bigint()
      await identity.claims(token)
      cold.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
    const token = fake.add({ project: { id: PROJECT }, roles: ['te_admin'] })
    await identity.claims(token)
    const request = { headers: { 'x-auth-token': token } }
    const batch = 20_000
    const rounds: number[] = []
    for (let round = 0; round < 7; round++) {
      const started = process.hrtime.bigint()
      for (let i = 0; i < batch; i++) sink((identity.grants(request) as KeystoneClaims).token.roles.length)
      rounds.push(Number(process.hrtime.bigint() - started) / batch)
    }
    return { hitNs: median(rounds.slice(2)), coldMs: median(cold), cold }
  } finally {
    await fake.close()
  }
}

export async function benchIdentity (settings: IdentitySettings, log: (line: string) => void): Promise<IdentityResult> {
  const children: ChildProcess[] = []
  try {
    const secret = 'evs-authz-bench-identity-0123456789abcdef'
    const backend = await start('servers', ['backend'])
    children.push(backend.child)
    const upstream = `http://127.0.0.1:${backend.ready.port}`
    const [keystone, jwt] =
      await Promise.all([start('identity-servers', ['keystone', upstream]), start('identity-servers', ['jwt', upstream, secret])])
    children.push(keystone.child, jwt.child)
    const variants = [
      { name: 'keystone' as const, port: keystone.ready.port, token: keystone.ready.token as string },
      { name: 'jwt' as const, port: jwt.ready.port, token: signToken({ sub: 'u-admin', project_id: PROJECT, roles: ['te_admin'] }, secret) }
    ]
    log('  identity: warming up (the Keystone token is validated once, then cached)')
    for (const v of variants) await load(v.port, v.token, 1, settings.warmupRequests)
    const perRound = { keystone: [] as number[], jwt: [] as number[] }
    for (let round = 0; round < settings.rounds; round++) {
      for (const v of rotation(variants, round)) {
        const rps = await load(v.port, v.token, settings.seconds)
        perRound[v.name].push(rps)
        log(`  identity round ${round + 1}/${settings.rounds} ${v.name.padEnd(8)} ${Math.round(rps)} req/s`)
      }
    }
    const costs = await cachedCost(settings.coldSamples)
    const reqPerSec = { keystone: median(perRound.keystone), jwt: median(perRound.jwt) }
    return {
      settings,
      reqPerSec,
      perRound,
      keystoneOverJwt: reqPerSec.keystone / reqPerSec.jwt,
      cachedValidationNs: costs.hitNs,
      coldValidationMs: costs.coldMs
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
}
