// Section "versus": the whole decision (authorize(): gate, query and header reading, match, grants cached
// per claims object, project check, actions) against one find-my-way find() of the same table, on the same
// request mix (every built-in route v2 + v3 plus 20% that match nothing), side by side in one process:
// rotated rounds, median per candidate. The headline ratio is authorize() (te_admin) / find().
// Batches are timed in this process's CPU time (process.cpuUsage), not wall time: on a shared machine the
// scheduler's preemptions land in wall time at random and swamp a ratio of two ~100 ns operations.
import FindMyWay from 'find-my-way'
import { createAuthorizer, snapshotRoutes, type Authorizer, type RequestTarget } from 'evs-authz'
import { compileMatcher, type Matcher } from '../../dist/core/routing/matcher.js'
import { compilePathGate, type PathGate } from '../../dist/core/request/path-gate.js'
import { compileTargetReader } from '../../dist/core/routing/target-reader.js'
import { loadRouteTable } from '../../dist/core/routing/route-table.js'
import { toColonSyntax } from '../../dist/core/routing/template.js'
import { DECISION_HEADERS } from './decision.js'
import { plainActions, requestMix, tenantAdmin, type BenchRequest } from './fixtures.js'
import { median, quantile, rotation, sink } from './stats.js'

export interface VersusSettings {
  readonly warmupRounds: number
  readonly rounds: number
  /** Target duration of one timed batch per candidate. */
  readonly batchMs: number
}

export type VersusCandidate =
  | 'find-my-way find()' | 'evs-authz gate+match (slow path)' | 'evs-authz target reader (fast path)' | 'authorize() te_admin'
  | 'authorize() three plain actions'

export interface VersusResult {
  readonly requests: number
  readonly unmatchedShare: number
  readonly rounds: number
  /** Median ns per request, by candidate. */
  readonly nsPerRequest: Readonly<Record<VersusCandidate, number>>
  /** Every round's figure, by candidate (warm-up excluded). */
  readonly samples: Readonly<Record<VersusCandidate, readonly number[]>>
  readonly ratios: {
    /** The headline: the whole decision (te_admin, grants cached) vs find(). */
    readonly decisionVsFindMyWay: number
    readonly plainDecisionVsFindMyWay: number
    readonly gateAndMatchVsFindMyWay: number
    /** The fused fast path (falling back to the gate and the walk) vs find(). */
    readonly readerVsFindMyWay: number
    /** Spread of the headline: per-round ratios (same round, both candidates), min and max. */
    readonly decisionRoundRatioMin: number
    readonly decisionRoundRatioMax: number
  }
}

interface Compiled {
  readonly router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>
  readonly authorizer: Authorizer
  readonly matcher: Matcher
  readonly gate: PathGate
  readonly matchPlain: ReturnType<typeof compileTargetReader>
  readonly mix: readonly BenchRequest[]
  readonly targets: readonly RequestTarget[]
  readonly admin: object
  readonly plain: object
}

// The strict settings of section 1 (bench/lib/matcher.ts).
const STRICT: FindMyWay.Config<FindMyWay.HTTPVersion.V1> = {
  caseSensitive: true,
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  allowUnsafeRegex: false,
  maxParamLength: 255
}

function compile (): Compiled {
  const router = FindMyWay(STRICT)
  for (const row of snapshotRoutes) router.on(row.method, toColonSyntax(row.template), () => {}, { template: row.template })
  const mix = requestMix()
  const matcher = compileMatcher(loadRouteTable(snapshotRoutes))
  const gate = compilePathGate('')
  return {
    router,
    authorizer: createAuthorizer(),
    matcher,
    gate,
    matchPlain: compileTargetReader(gate, matcher, 0),
    mix,
    targets: mix.map((q) => ({ method: q.method, url: q.url, headers: DECISION_HEADERS })),
    admin: tenantAdmin(),
    plain: plainActions()
  }
}

// One hand-written loop per candidate (see bench/lib/matcher.ts: a shared loop would be polymorphic).

/** CPU microseconds of this process so far (user + system). */
function cpuMicros (): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

function runRouter (c: Compiled, reps: number): number {
  const { router, mix } = c
  let hits = 0
  const start = cpuMicros()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      if (router.find(q.method as FindMyWay.HTTPMethod, q.url) !== null) hits++
    }
  }
  const ns = (cpuMicros() - start) * 1000
  sink(hits)
  return ns / (reps * mix.length)
}

function runGateMatch (c: Compiled, reps: number): number {
  const { matcher, gate, mix } = c
  let hits = 0
  const start = cpuMicros()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      const gated = gate.inspect(q.url)
      if (gated.kind === 'guarded' && matcher.match(q.method, gated.path, gated.start).kind === 'matched') hits++
    }
  }
  const ns = (cpuMicros() - start) * 1000
  sink(hits)
  return ns / (reps * mix.length)
}

/** The authorizer's first two stages as it runs them: the fused fast path, else the gate and the tree walk. */
function runReader (c: Compiled, reps: number): number {
  const { matcher, gate, matchPlain, mix } = c
  let hits = 0
  const start = cpuMicros()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      let match = matchPlain(q.method, q.url)
      if (match === undefined) {
        const gated = gate.inspect(q.url)
        if (gated.kind === 'guarded') match = matcher.match(q.method, gated.path, gated.start)
      }
      if (match?.kind === 'matched') hits++
    }
  }
  const ns = (cpuMicros() - start) * 1000
  sink(hits)
  return ns / (reps * mix.length)
}

function runAuthorize (authorizer: Authorizer, targets: readonly RequestTarget[], claims: object, reps: number): number {
  let allowed = 0
  const start = cpuMicros()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < targets.length; i++) {
      if (isAllow(authorizer.authorize(targets[i] as RequestTarget, claims))) allowed++
    }
  }
  const ns = (cpuMicros() - start) * 1000
  sink(allowed)
  return ns / (reps * targets.length)
}

/** Reads the decision's verdict whether it says `kind` or (before issue 10's rename) `allowed`. */
function isAllow (decision: object): boolean {
  const d = decision as { kind?: unknown, allowed?: unknown }
  return d.kind === 'allow' || d.allowed === true
}

const RUNNERS: Readonly<Record<VersusCandidate, (c: Compiled, reps: number) => number>> = {
  'find-my-way find()': runRouter,
  'evs-authz gate+match (slow path)': runGateMatch,
  'evs-authz target reader (fast path)': runReader,
  'authorize() te_admin': (c, reps) => runAuthorize(c.authorizer, c.targets, c.admin, reps),
  'authorize() three plain actions': (c, reps) => runAuthorize(c.authorizer, c.targets, c.plain, reps)
}

/** The decision and find() must agree on which requests match a route before any timing counts. */
function checkAgreement (c: Compiled): void {
  c.mix.forEach((q, i) => {
    const found = c.router.find(q.method as FindMyWay.HTTPMethod, q.url)
    const template = (found?.store as { template?: string } | undefined)?.template
    const decision = c.authorizer.authorize(c.targets[i] as RequestTarget, c.admin)
    if (template !== q.template || decision.route?.template !== q.template || (q.template !== undefined && !isAllow(decision))) {
      const seen = `${String(template)} / ${String(decision.route?.template)}`
      throw new Error(`find-my-way and authorize() disagree on ${q.method} ${q.url}: ${seen}`)
    }
  })
}

export function benchVersus (settings: VersusSettings): VersusResult {
  const compiled = compile()
  checkAgreement(compiled)
  const names = Object.keys(RUNNERS) as VersusCandidate[]
  const reps = {} as Record<VersusCandidate, number>
  for (const name of names) {
    RUNNERS[name](compiled, 200)
    const ns = RUNNERS[name](compiled, 500)
    reps[name] = Math.max(50, Math.round((settings.batchMs * 1e6) / (ns * compiled.mix.length)))
  }
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<VersusCandidate, number[]>
  for (let round = 0; round < settings.warmupRounds + settings.rounds; round++) {
    for (const name of rotation(names, round)) {
      const ns = RUNNERS[name](compiled, reps[name])
      if (round >= settings.warmupRounds) samples[name].push(ns)
    }
  }
  const ns = Object.fromEntries(names.map((n) => [n, median(samples[n])])) as Record<VersusCandidate, number>
  const fmw = samples['find-my-way find()']
  const perRound = samples['authorize() te_admin'].map((v, i) => v / (fmw[i] as number))
  return {
    requests: compiled.mix.length,
    unmatchedShare: compiled.mix.filter((q) => q.template === undefined).length / compiled.mix.length,
    rounds: settings.rounds,
    nsPerRequest: ns,
    samples,
    ratios: {
      decisionVsFindMyWay: ns['authorize() te_admin'] / ns['find-my-way find()'],
      plainDecisionVsFindMyWay: ns['authorize() three plain actions'] / ns['find-my-way find()'],
      gateAndMatchVsFindMyWay: ns['evs-authz gate+match (slow path)'] / ns['find-my-way find()'],
      readerVsFindMyWay: ns['evs-authz target reader (fast path)'] / ns['find-my-way find()'],
      decisionRoundRatioMin: quantile(perRound, 0),
      decisionRoundRatioMax: quantile(perRound, 1)
    }
  }
}
