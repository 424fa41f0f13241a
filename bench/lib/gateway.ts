// Section 3: gateway throughput with autocannon against loopback servers this benchmark starts.
// Every variant runs in its own process; rounds are interleaved (rotated order), warm-up discarded.
import { fork, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import autocannon, { type Result } from 'autocannon'
import { snapshotRoutes } from 'evs-authz'
import { childScript } from './child.js'
import { PROJECT, routeRequests } from './fixtures.js'
import type { ReadyMessage, ServerKind } from './servers.js'
import { median, rotation } from './stats.js'

export interface GatewaySettings {
  readonly connections: number
  /** Requests per variant before the timed rounds (discarded). */
  readonly warmupRequests: number
  /** Whole seconds (autocannon rounds durations up). */
  readonly seconds: number
  readonly rounds: number
}

export type VariantName = 'a' | 'a+jwt' | 'b' | 'c' | 'd'

export interface VariantFigures {
  readonly variant: VariantName
  readonly description: string
  /** Median over rounds of autocannon's mean requests per second. */
  readonly reqPerSec: number
  /** Median over rounds of autocannon's p99 latency (ms). */
  readonly p99Ms: number
  readonly perRound: ReadonlyArray<{ readonly reqPerSec: number, readonly p99Ms: number, readonly non2xx: number, readonly errors: number }>
  /** Status every request of the mix got before the timed runs. */
  readonly expectedStatus: number
}

export interface GatewayResult {
  readonly settings: GatewaySettings
  readonly requestsInMix: number
  readonly variants: readonly VariantFigures[]
  readonly sameClaimsObject: boolean | undefined
  readonly ratios: { readonly bOverA: number, readonly bOverC: number, readonly bOverAJwt: number, readonly dOverA: number }
}

const SERVERS = childScript(import.meta.url, 'servers')
const SECRET = 'evs-authz-bench-secret-0123456789abcdef'

function base64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

/** An HS256 JWT, signed here so the benchmark needs no signing library. */
export function signToken (claims: object, key: string): string {
  const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify({ ...claims, iat: Math.floor(Date.now() / 1000) }))}`
  return `${head}.${base64url(createHmac('sha256', key).update(head).digest())}`
}

interface Started { readonly child: ChildProcess, readonly ready: ReadyMessage }

function start (kind: ServerKind, args: readonly string[]): Promise<Started> {
  const child = fork(SERVERS.path, [kind, ...args], { execArgv: [...SERVERS.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start within 30 s`)), 30_000)
    child.once('message', (message) => {
      clearTimeout(timer)
      resolve({ child, ready: message as ReadyMessage })
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${kind} server exited with ${String(code)}`))
    })
  })
}

interface Variant {
  readonly name: VariantName
  readonly description: string
  readonly port: number
  readonly token: string
  readonly expectedStatus: number
}

function requestsFor (token: string): Array<{ method: string, path: string, headers: Record<string, string> }> {
  return routeRequests(snapshotRoutes).map((q) => ({ method: q.method, path: q.url, headers: { 'x-auth-token': token, accept: 'application/json' } }))
}

async function checkStatuses (variant: Variant): Promise<void> {
  for (const q of requestsFor(variant.token)) {
    const response = await fetch(`http://127.0.0.1:${variant.port}${q.path}`, { method: q.method, headers: q.headers })
    await response.arrayBuffer()
    if (response.status !== variant.expectedStatus) {
      throw new Error(`variant ${variant.name}: ${q.method} ${q.path} answered ${response.status}, expected ${variant.expectedStatus}`)
    }
  }
}

function load (variant: Variant, settings: GatewaySettings, amount?: number): Promise<Result> {
  return autocannon({
    url: `http://127.0.0.1:${variant.port}`,
    connections: settings.connections,
    pipelining: 1,
    duration: settings.seconds,
    ...(amount === undefined ? {} : { amount }),
    timeout: 10,
    requests: requestsFor(variant.token)
  })
}

export async function benchGateway (settings: GatewaySettings, log: (line: string) => void): Promise<GatewayResult> {
  const children: ChildProcess[] = []
  try {
    const backend = await start('backend', [])
    children.push(backend.child)
    const upstream = `http://127.0.0.1:${backend.ready.port}`
    const [proxy, jwt, authz, casbin] = await Promise.all((['proxy', 'jwt', 'evs-authz', 'casbin'] as const).map((kind) => start(kind, [upstream, SECRET])))
    for (const s of [proxy, jwt, authz, casbin]) children.push((s as Started).child)
    const admin = signToken({ sub: 'u-admin', project_id: PROJECT, roles: ['te_admin'] }, SECRET)
    const nothing = signToken({ sub: 'u-none', project_id: PROJECT, actions: ['ecs:servers:list'] }, SECRET)
    const variants: Variant[] = [
      { name: 'a', description: 'Fastify + @fastify/http-proxy, no authorization', port: (proxy as Started).ready.port, token: admin, expectedStatus: 200 },
      { name: 'a+jwt', description: '(a) + @fastify/jwt (cache on), no authorization', port: (jwt as Started).ready.port, token: admin, expectedStatus: 200 },
      { name: 'b', description: '(a) + @fastify/jwt + evs-authz, allowing (te_admin)', port: (authz as Started).ready.port, token: admin, expectedStatus: 200 },
      { name: 'c', description: '(a) + @fastify/jwt + casbin keyMatch2 onRequest hook, allowing', port: (casbin as Started).ready.port, token: admin, expectedStatus: 200 },
      { name: 'd', description: 'server (b), evs-authz denying (403 missing-action, logged at info)', port: (authz as Started).ready.port, token: nothing, expectedStatus: 403 }
    ]
    log('  servers up; checking every request\'s status')
    for (const variant of variants) await checkStatuses(variant)
    log('  warming up')
    for (const variant of variants) await load(variant, settings, settings.warmupRequests)
    const rounds = new Map<VariantName, Array<{ reqPerSec: number, p99Ms: number, non2xx: number, errors: number }>>()
    for (let round = 0; round < settings.rounds; round++) {
      for (const variant of rotation(variants, round)) {
        const result = await load(variant, settings)
        const figures = {
          reqPerSec: result.requests.average,
          p99Ms: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts
        }
        rounds.set(variant.name, [...(rounds.get(variant.name) ?? []), figures])
        log(`  round ${round + 1}/${settings.rounds} ${variant.name.padEnd(5)} ${Math.round(figures.reqPerSec)} req/s, p99 ${figures.p99Ms} ms`)
      }
    }
    const figures = variants.map((variant): VariantFigures => {
      const perRound = rounds.get(variant.name) ?? []
      return {
        variant: variant.name,
        description: variant.description,
        reqPerSec: median(perRound.map((r) => r.reqPerSec)),
        p99Ms: median(perRound.map((r) => r.p99Ms)),
        perRound,
        expectedStatus: variant.expectedStatus
      }
    })
    const rps = (name: VariantName): number => figures.find((f) => f.variant === name)?.reqPerSec ?? NaN
    return {
      settings,
      requestsInMix: snapshotRoutes.length,
      variants: figures,
      sameClaimsObject: (authz as Started).ready.sameClaimsObject,
      ratios: { bOverA: rps('b') / rps('a'), bOverC: rps('b') / rps('c'), bOverAJwt: rps('b') / rps('a+jwt'), dOverA: rps('d') / rps('a') }
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
}
