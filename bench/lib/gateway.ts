// Section 3: gateway throughput with autocannon against loopback servers this benchmark starts.
// Every variant runs in its own process; rounds are interleaved (rotated order), warm-up discarded.
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import autocannon, { type Result } from 'autocannon'
import { snapshotRoutes } from 'evs-authz'
import { childScript } from './child.js'
import { PROJECT, routeRequests } from './fixtures.js'
import type { ReadyMessage, ServerKind } from './servers.js'
import { median, quantile, rotation } from './stats.js'

export interface GatewaySettings {
  readonly connections: number
  /** Requests per variant before the timed rounds (discarded). */
  readonly warmupRequests: number
  /** Whole seconds (autocannon rounds durations up). */
  readonly seconds: number
  readonly rounds: number
  /** Paired rounds of (a+jwt), (b) and the floor, loaded at the same time; 0 skips them. */
  readonly pairedRounds: number
  /** Whole seconds per variant in a paired round. */
  readonly pairedSeconds: number
}

export type VariantName = 'a' | 'a+jwt' | 'b' | 'c' | 'd' | 'hooks'

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

/** (b) against (a+jwt) in paired rounds: both variants loaded at the same time, one ratio per round. */
export interface PairedFigures {
  readonly rounds: number
  readonly seconds: number
  /** b / (a+jwt) per round, in run order. */
  readonly ratios: readonly number[]
  /** The headline: the median of the per-round ratios. */
  readonly medianRatio: number
  readonly minRatio: number
  readonly maxRatio: number
  /** Interquartile range of the per-round ratios. */
  readonly q1Ratio: number
  readonly q3Ratio: number
  readonly jwtReqPerSec: readonly number[]
  readonly authzReqPerSec: readonly number[]
  /**
   * The same rounds measured by the gateway process's own CPU time per request (Linux /proc/<pid>/stat):
   * (a+jwt) CPU per request / (b) CPU per request, so >= 0.98 means (b) serves at least 98% as many requests
   * per CPU second. Unlike req/s it does not move when other processes take the cores. NaN elsewhere.
   */
  readonly cpuRatios: readonly number[]
  readonly cpuMedianRatio: number
  readonly cpuQ1Ratio: number
  readonly cpuQ3Ratio: number
  /** Median CPU microseconds per request of each gateway process. */
  readonly jwtCpuMicrosPerRequest: number
  readonly authzCpuMicrosPerRequest: number
  /**
   * The floor, from the same rounds: (a+jwt) CPU per request / that of (a+jwt) with two empty hooks (onRequest, preParsing),
   * where the plugin has its hooks. What evs-authz could reach if its own work were free.
   */
  readonly hooksCpuRatios: readonly number[]
  readonly hooksCpuMedianRatio: number
  readonly hooksCpuMicrosPerRequest: number
  /** Whether the gateways ran pinned to their own CPU (see pin). */
  readonly pinned: boolean
  /** How many sets of freshly started gateways the rounds were spread over. */
  readonly generations: number
}

export interface GatewayResult {
  readonly settings: GatewaySettings
  readonly requestsInMix: number
  /** Empty when only the paired rounds ran (`--only=paired`). */
  readonly variants: readonly VariantFigures[]
  readonly sameClaimsObject: boolean | undefined
  readonly ratios: { readonly bOverA: number, readonly bOverC: number, readonly bOverAJwt: number, readonly dOverA: number }
  readonly paired: PairedFigures | undefined
}

const SERVERS = childScript(import.meta.url, 'servers')
const SECRET = 'evs-authz-bench-secret-0123456789abcdef'

function base64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

/** An HS256 JWT, signed here so the benchmark needs no signing library. */
export function signToken (claims: object, key: string): string {
  const body = { ...claims, iat: Math.floor(Date.now() / 1000) }
  const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(body))}`
  return `${head}.${base64url(createHmac('sha256', key).update(head).digest())}`
}

interface Started { readonly child: ChildProcess, readonly ready: ReadyMessage }

/** CPU time (user + system) of a process in microseconds, from /proc (Linux, 100 ticks per second); NaN elsewhere. */
function processCpuMicros (pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return NaN
  }
}

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
  /** The gateway's process id (for its CPU time). */
  readonly pid: number | undefined
}

function requestsFor (token: string): Array<{ method: string, path: string, headers: Record<string, string> }> {
  return routeRequests(snapshotRoutes).map((q) =>
    ({ method: q.method, path: q.url, headers: { 'x-auth-token': token, accept: 'application/json' } }))
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

function load (variant: Variant, settings: GatewaySettings, amount?: number, seconds = settings.seconds): Promise<Result> {
  return autocannon({
    url: `http://127.0.0.1:${variant.port}`,
    connections: settings.connections,
    pipelining: 1,
    duration: seconds,
    ...(amount === undefined ? {} : { amount }),
    timeout: 10,
    requests: requestsFor(variant.token)
  })
}

/**
 * Pins processes (all their threads) to CPUs with taskset (Linux); false when that is not possible here. The paired
 * rounds put the three gateways on the last CPU and everything else (this process with the load generator, the
 * backend) on the others, so no gateway shares a core with the load generator that another does not.
 */
function pin (pids: ReadonlyArray<number | undefined>, cpus: string): boolean {
  try {
    for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Runs (a+jwt), (b) and the floor at the same time per round; b/(a+jwt) per round. */
/** (a+jwt), (b) and the floor, freshly started, checked and warmed up; stop() ends their processes. */
interface Trio { readonly jwt: Variant, readonly authz: Variant, readonly hooks: Variant, stop (): void }

/**
 * The paired rounds are spread over this many sets of freshly started gateways: two processes running the same code
 * can differ by a few percent (code and heap layout), which more rounds of the same processes would not average out.
 */
const PAIRED_GENERATIONS = 4

async function pairedRounds (
  spawnTrio: () => Promise<Trio>, otherPids: ReadonlyArray<number | undefined>, settings: GatewaySettings, log: (line: string) => void
): Promise<PairedFigures> {
  const ratios: number[] = []
  const jwtReqPerSec: number[] = []
  const authzReqPerSec: number[] = []
  const cpuRatios: number[] = []
  const jwtCpu: number[] = []
  const authzCpu: number[] = []
  const hooksCpu: number[] = []
  const hooksCpuRatios: number[] = []
  const cpus = availableParallelism()
  const pinned = cpus >= 2 && pin([process.pid, ...otherPids], `0-${cpus - 2}`)
  log(pinned ? `  gateways pinned to CPU ${cpus - 1}, the load generator and the backend to the others` : '  (processes not pinned)')
  const generations = Math.min(PAIRED_GENERATIONS, settings.pairedRounds)
  let trio: Trio | undefined
  for (let round = 0; round < settings.pairedRounds; round++) {
    if (round % Math.ceil(settings.pairedRounds / generations) === 0) {
      trio?.stop()
      trio = await spawnTrio()
      if (pinned) pin([trio.jwt.pid, trio.authz.pid, trio.hooks.pid], String(cpus - 1))
    }
    // Set just above on the first round.
    const { jwt, authz, hooks } = trio as Trio
    // (a+jwt), (b) and the floor at the same time: whatever else the machine runs in these seconds, all three
    // see it alike (run one after the other, a round's two halves met different load and the ratio drifted
    // by ±20%). Each server's CPU time per request is its own process's.
    // The load generators start in a rotated order, so no variant always gets the head start.
    const order = rotation([jwt, authz, hooks], round)
    const rps = new Map<VariantName, number>()
    const cpu = new Map<VariantName, number>()
    const before = order.map((variant) => processCpuMicros(variant.pid))
    const results = await Promise.all(order.map((variant) => load(variant, settings, undefined, settings.pairedSeconds)))
    order.forEach((variant, i) => {
      // order, before and results are parallel arrays.
      const result = results[i] as Result
      rps.set(variant.name, result.requests.average)
      cpu.set(variant.name, (processCpuMicros(variant.pid) - (before[i] as number)) / result.requests.total)
    })
    const a = rps.get(jwt.name) as number
    const b = rps.get(authz.name) as number
    const cpuA = cpu.get(jwt.name) as number
    const cpuB = cpu.get(authz.name) as number
    jwtReqPerSec.push(a)
    authzReqPerSec.push(b)
    ratios.push(b / a)
    jwtCpu.push(cpuA)
    authzCpu.push(cpuB)
    cpuRatios.push(cpuA / cpuB)
    const cpuHooks = cpu.get(hooks.name) as number
    hooksCpu.push(cpuHooks)
    hooksCpuRatios.push(cpuA / cpuHooks)
    log(`  paired ${round + 1}/${settings.pairedRounds}: a+jwt ${Math.round(a)}, b ${Math.round(b)} req/s, ` +
      `b/(a+jwt) ${(b / a).toFixed(3)}; ` +
      `CPU per request ${cpuA.toFixed(1)} / ${cpuB.toFixed(1)} µs, ratio ${(cpuA / cpuB).toFixed(3)}`)
  }
  trio?.stop()
  // Later sections start servers of their own from this process: they must not inherit its pinning.
  if (pinned) pin([process.pid], `0-${cpus - 1}`)
  return {
    rounds: settings.pairedRounds,
    seconds: settings.pairedSeconds,
    ratios,
    medianRatio: median(ratios),
    minRatio: quantile(ratios, 0),
    maxRatio: quantile(ratios, 1),
    q1Ratio: quantile(ratios, 0.25),
    q3Ratio: quantile(ratios, 0.75),
    jwtReqPerSec,
    authzReqPerSec,
    cpuRatios,
    cpuMedianRatio: median(cpuRatios),
    cpuQ1Ratio: quantile(cpuRatios, 0.25),
    cpuQ3Ratio: quantile(cpuRatios, 0.75),
    jwtCpuMicrosPerRequest: median(jwtCpu),
    authzCpuMicrosPerRequest: median(authzCpu),
    hooksCpuRatios,
    hooksCpuMedianRatio: median(hooksCpuRatios),
    hooksCpuMicrosPerRequest: median(hooksCpu),
    pinned,
    generations
  }
}

/**
 * Every variant in rotated rounds, then the paired rounds of (a+jwt) and (b). With `pairedOnly` (`--only=paired`)
 * only the backend, (a+jwt) and (b) start, and only the paired rounds run.
 */
export async function benchGateway (settings: GatewaySettings, log: (line: string) => void, pairedOnly = false): Promise<GatewayResult> {
  const children: ChildProcess[] = []
  try {
    const backend = await start('backend', [])
    children.push(backend.child)
    const upstream = `http://127.0.0.1:${backend.ready.port}`
    // In a process of its own, done before any gateway starts (see servers.ts claimsIdentity).
    const probe = await start('probe', [upstream, SECRET])
    probe.child.kill('SIGTERM')
    const kinds = pairedOnly ? ([] as const) : (['proxy', 'jwt', 'evs-authz', 'casbin'] as const)
    const started = new Map<ServerKind, Started>()
    for (const [i, s] of (await Promise.all(kinds.map((kind) => start(kind, [upstream, SECRET])))).entries()) {
      children.push(s.child)
      started.set(kinds[i] as ServerKind, s)
    }
    const denier = pairedOnly ? undefined : await start('evs-authz', [upstream, SECRET])
    if (denier !== undefined) children.push(denier.child)
    const portOf = (kind: ServerKind): number => started.get(kind)?.ready.port ?? 0
    const admin = signToken({ sub: 'u-admin', project_id: PROJECT, roles: ['te_admin'] }, SECRET)
    const nothing = signToken({ sub: 'u-none', project_id: PROJECT, actions: ['ecs:servers:list'] }, SECRET)
    const variant = (name: VariantName, description: string, kind: ServerKind, token: string, expectedStatus: number): Variant =>
      ({ name, description, port: portOf(kind), token, expectedStatus, pid: started.get(kind)?.child.pid })
    const jwt = variant('a+jwt', '(a) + @fastify/jwt (cache on), no authorization', 'jwt', admin, 200)
    const authz = variant('b', '(a) + @fastify/jwt + evs-authz, allowing (te_admin)', 'evs-authz', admin, 200)
    const variants: Variant[] = pairedOnly
      ? []
      : [
          variant('a', 'Fastify + @fastify/http-proxy, no authorization', 'proxy', admin, 200),
          jwt,
          authz,
          variant('c', '(a) + @fastify/jwt + casbin keyMatch2 onRequest hook, allowing', 'casbin', admin, 200),
          // Its own process, configured as (b): a (b) process that had also served denials measured 1% to 2% lower in
          // the paired rounds (its code's type feedback had seen both kinds of decision).
          {
            ...variant('d', '(b) again, evs-authz denying (403 missing-action, logged at info)', 'evs-authz', nothing, 403),
            port: denier?.ready.port ?? 0,
            pid: denier?.child.pid
          }
        ]
    log('  servers up; checking every request\'s status')
    for (const variant of variants) await checkStatuses(variant)
    log('  warming up')
    for (const variant of variants) await load(variant, settings, settings.warmupRequests)
    const rounds = new Map<VariantName, Array<{ reqPerSec: number, p99Ms: number, non2xx: number, errors: number }>>()
    const rotatedRounds = pairedOnly ? 0 : settings.rounds
    for (let round = 0; round < rotatedRounds; round++) {
      for (const variant of rotation(variants, round)) {
        const result = await load(variant, settings)
        const figures = {
          reqPerSec: result.requests.average,
          p99Ms: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts
        }
        rounds.set(variant.name, [...(rounds.get(variant.name) ?? []), figures])
        log(`  round ${round + 1}/${settings.rounds} ${variant.name.padEnd(5)} ${Math.round(figures.reqPerSec)} req/s, ` +
          `p99 ${figures.p99Ms} ms`)
      }
    }
    const spawnTrio = async (): Promise<Trio> => {
      const trioKinds = ['jwt', 'evs-authz', 'hooks'] as const
      const servers = await Promise.all(trioKinds.map((kind) => start(kind, [upstream, SECRET])))
      children.push(...servers.map((s) => s.child))
      const at = (i: number, name: VariantName, description: string): Variant => {
        // servers is parallel to trioKinds: three entries.
        const s = servers[i] as Started
        return { name, description, port: s.ready.port, token: admin, expectedStatus: 200, pid: s.child.pid }
      }
      const fresh = {
        jwt: at(0, 'a+jwt', jwt.description),
        authz: at(1, 'b', authz.description),
        hooks: at(2, 'hooks', '(a) + @fastify/jwt + two empty hooks (the plugin\'s hooks)'),
        stop: () => { for (const s of servers) s.child.kill('SIGTERM') }
      }
      for (const v of [fresh.jwt, fresh.authz, fresh.hooks]) await checkStatuses(v)
      for (const v of [fresh.jwt, fresh.authz, fresh.hooks]) await load(v, settings, settings.warmupRequests)
      return fresh
    }
    const paired = settings.pairedRounds > 0 ? await pairedRounds(spawnTrio, [backend.child.pid], settings, log) : undefined
    const figures = pairedOnly
      ? []
      : variants.map((variant): VariantFigures => {
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
      sameClaimsObject: probe.ready.sameClaimsObject,
      ratios: { bOverA: rps('b') / rps('a'), bOverC: rps('b') / rps('c'), bOverAJwt: rps('b') / rps('a+jwt'), dOverA: rps('d') / rps('a') },
      paired
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
}
