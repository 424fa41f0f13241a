// Sections 2 and 4: authorize() end to end (gate + match + grants + evaluation) per persona, with
// grants cached (the same claims object every time, as a JWT verifier cache hands it back) and
// uncached (a fresh claims object per request, so the grants are compiled every time).
import { getHeapStatistics } from 'node:v8'
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { createAuthorizer, snapshotRoutes, type Authorizer, type RequestTarget, type RouteDefinition } from 'evs-authz'
import { bigPolicy, plainActions, routeRequests, syntheticTable, tenantAdmin, twoPolicies, v2Rows } from './fixtures.js'
import { median, rotation, sink, sortedQuantile } from './stats.js'

export type GrantMode = 'cached' | 'uncached'

export interface DecisionSettings {
  readonly warmupRounds: number
  readonly rounds: number
  /** Target duration of one timed batch. */
  readonly batchMs: number
  /** Allocation samples per case. */
  readonly allocSamples: number
}

export interface DecisionFigures {
  readonly case: string
  readonly mode: GrantMode
  /** Individually timed decisions, timer overhead subtracted. */
  readonly p50Ns: number
  readonly p99Ns: number
  /** Batch-timed mean (no per-call timer), median over rounds. */
  readonly meanNs: number
  readonly bytesPerDecision: number
  readonly samples: number
  /** Share of decisions in the mix that were allows. */
  readonly allowShare: number
}

interface Case {
  readonly name: string
  readonly authorizer: Authorizer
  readonly requests: readonly RequestTarget[]
  readonly claims: object
}

// Headers as a Fastify request carries them: authorize() looks at every name for method overrides.
export const DECISION_HEADERS = Object.freeze({
  host: '127.0.0.1:8080',
  'user-agent': 'python-cinderclient',
  accept: 'application/json',
  'content-type': 'application/json',
  'x-auth-token': 'eyJhbGciOiJIUzI1NiJ9.e30.signature',
  'x-openstack-request-id': 'req-0f7c1d3e-4b5a-4c2e-9d52-2f1c0b7e6a11'
})

function targets (rows: readonly RouteDefinition[]): RequestTarget[] {
  return routeRequests(rows).map((q) => ({ method: q.method, url: q.url, headers: DECISION_HEADERS }))
}

/** The claims each decision sees: one object (cached grants) or a fresh shallow copy per decision. */
function claimsSequence (claims: object, mode: GrantMode, n: number): object[] {
  const sequence = new Array<object>(n)
  for (let i = 0; i < n; i++) sequence[i] = mode === 'cached' ? claims : { ...claims }
  return sequence
}

function timeEach (c: Case, claims: readonly object[], out: Float64Array): number {
  const { authorizer, requests } = c
  const k = requests.length
  let allowed = 0
  for (let i = 0; i < out.length; i++) {
    const request = requests[i % k] as RequestTarget
    const who = claims[i]
    const t0 = process.hrtime.bigint()
    const decision = authorizer.authorize(request, who)
    const t1 = process.hrtime.bigint()
    out[i] = Number(t1 - t0)
    if (decision.kind === 'allow') allowed++
  }
  sink(allowed)
  return allowed
}

function emptyPair (n: number): number {
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    const t1 = process.hrtime.bigint()
    out[i] = Number(t1 - t0)
  }
  return median([...out])
}

function timeBatch (c: Case, claims: readonly object[]): number {
  const { authorizer, requests } = c
  const k = requests.length
  let allowed = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < claims.length; i++) {
    const decision = authorizer.authorize(requests[i % k] as RequestTarget, claims[i])
    if (decision !== undefined && decision.kind === 'allow') allowed++
  }
  const ns = Number(process.hrtime.bigint() - start)
  sink(allowed)
  return ns / claims.length
}

const gcWindows: Array<[number, number]> = []
let gcObserver: PerformanceObserver | undefined

function observeGc (): void {
  if (gcObserver !== undefined) return
  gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcWindows.push([entry.startTime, entry.startTime + entry.duration])
  })
  gcObserver.observe({ entryTypes: ['gc'] })
}

function collect (): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  gc()
  gc()
}

/**
 * Bytes allocated per decision: after two full GCs, used_heap_size before and after n decisions
 * (n small enough to stay inside the young generation), minus the same measurement around an empty
 * loop. Samples during which a GC ran (seen through a PerformanceObserver on 'gc') are discarded.
 */
async function bytesPerDecision (c: Case, mode: GrantMode, samples: number): Promise<number> {
  observeGc()
  const measure = (n: number, run: boolean): { bytes: number, from: number, to: number } => {
    const claims = claimsSequence(c.claims, mode, n)
    collect()
    const from = performance.now()
    const before = getHeapStatistics().used_heap_size
    let allowed = 0
    if (run) {
      for (let i = 0; i < n; i++) {
        const decision = c.authorizer.authorize(c.requests[i % c.requests.length] as RequestTarget, claims[i])
        if (decision !== undefined && decision.kind === 'allow') allowed++
      }
    }
    const after = getHeapStatistics().used_heap_size
    sink(allowed)
    return { bytes: after - before, from, to: performance.now() }
  }
  // Size the loop to about 256 KiB of allocation, well under the young generation's first semispace.
  const probe = Math.max(1, measure(c.requests.length, true).bytes / c.requests.length)
  const n = Math.max(1, Math.min(4 * c.requests.length * 16, Math.floor(256 * 1024 / probe)))
  const runs: Array<{ bytes: number, from: number, to: number }> = []
  const empties: Array<{ bytes: number, from: number, to: number }> = []
  for (let s = 0; s < samples; s++) {
    empties.push(measure(n, false))
    runs.push(measure(n, true))
  }
  await new Promise((resolve) => setTimeout(resolve, 20)) // let the GC observer report
  const clean = (xs: typeof runs): number[] => xs.filter((x) => !gcWindows.some(([a, b]) => a < x.to && b > x.from)).map((x) => x.bytes)
  const run = clean(runs)
  const empty = clean(empties)
  if (run.length === 0) return NaN
  return Math.max(0, (median(run) - (empty.length === 0 ? 0 : median(empty))) / n)
}

/** Times every (case, mode) pair in interleaved rounds; returns figures in case order. */
export async function benchCases (cases: readonly Case[], modes: readonly GrantMode[],
  settings: DecisionSettings): Promise<DecisionFigures[]> {
  const overhead = emptyPair(20000)
  const pairs = cases.flatMap((c) => modes.map((mode) => ({ c, mode })))
  const sizes = new Map<string, number>()
  for (const { c, mode } of pairs) {
    const warm = claimsSequence(c.claims, mode, c.requests.length * 4)
    timeBatch(c, warm)
    const ns = timeBatch(c, claimsSequence(c.claims, mode, c.requests.length * 4))
    sizes.set(`${c.name}/${mode}`,
      Math.max(c.requests.length, Math.round(settings.batchMs * 1e6 / ns / c.requests.length) * c.requests.length))
  }
  const individual = new Map<string, number[]>()
  const means = new Map<string, number[]>()
  const allows = new Map<string, number>()
  for (let round = 0; round < settings.warmupRounds + settings.rounds; round++) {
    for (const { c, mode } of rotation(pairs, round)) {
      const key = `${c.name}/${mode}`
      const n = sizes.get(key) as number
      const out = new Float64Array(n)
      const allowed = timeEach(c, claimsSequence(c.claims, mode, n), out)
      const mean = timeBatch(c, claimsSequence(c.claims, mode, n))
      if (round < settings.warmupRounds) continue
      const list = individual.get(key) ?? []
      for (const v of out) list.push(Math.max(0, v - overhead))
      individual.set(key, list)
      means.set(key, [...(means.get(key) ?? []), mean])
      allows.set(key, allowed / n)
    }
  }
  const figures: DecisionFigures[] = []
  for (const { c, mode } of pairs) {
    const key = `${c.name}/${mode}`
    const sorted = Float64Array.from(individual.get(key) ?? []).sort()
    figures.push({
      case: c.name,
      mode,
      p50Ns: sortedQuantile(sorted, 0.5),
      p99Ns: sortedQuantile(sorted, 0.99),
      meanNs: median(means.get(key) ?? []),
      bytesPerDecision: await bytesPerDecision(c, mode, settings.allocSamples),
      samples: sorted.length,
      allowShare: allows.get(key) ?? NaN
    })
  }
  return figures
}

export function timerOverhead (): number {
  return emptyPair(20000)
}

/** Section 2: the four personas on the built-in table (every route, v2 and v3). */
export function decisionCases (): Case[] {
  const authorizer = createAuthorizer()
  const requests = targets(snapshotRoutes)
  return [
    { name: 'three plain actions', authorizer, requests, claims: plainActions() },
    { name: 'te_admin role', authorizer, requests, claims: tenantAdmin() },
    { name: '2 policies, 20 statements (globs + Deny)', authorizer, requests, claims: twoPolicies() },
    { name: '1 policy, 200 statements', authorizer, requests, claims: bigPolicy(200) }
  ]
}

/** Section 4a: the same requests (the 19 v2 rows) against growing tables. */
export function tableScaleCases (sizes: readonly number[]): Case[] {
  const requests = targets(v2Rows())
  return sizes.map((size) => ({
    name: `${size} routes`,
    authorizer: createAuthorizer({ routes: syntheticTable(size) }),
    requests,
    claims: tenantAdmin()
  }))
}

/** Section 4b: growing grants on the built-in table. */
export function grantScaleCases (counts: readonly number[]): Case[] {
  const authorizer = createAuthorizer()
  const requests = targets(snapshotRoutes)
  return counts.map((count) => ({ name: `${count} statements`, authorizer, requests, claims: bigPolicy(count, `u-${count}`) }))
}
