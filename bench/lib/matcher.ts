// Section 1: our radix matcher against find-my-way (strict settings, the same table) and against a
// linear scan of path-to-regexp match() functions, on one fixed request mix.
import FindMyWay from 'find-my-way'
import { match as p2rMatch, type MatchFunction } from 'path-to-regexp'
import { snapshotRoutes, type CompiledRoute } from 'evs-authz'
import { loadRouteTable } from '../../dist/core/index.js'
import { compileMatcher, type Matcher } from '../../dist/core/routing/matcher.js'
import { compilePathGate, type PathGate } from '../../dist/core/request/path-gate.js'
import { toColonSyntax } from '../../dist/core/routing/template.js'
import { requestMix, type BenchRequest } from './fixtures.js'
import { median, rotation, sink } from './stats.js'

export interface MatcherSettings {
  readonly warmupRounds: number
  readonly rounds: number
  /** Target duration of one timed batch per candidate. */
  readonly batchMs: number
}

export interface MatcherResult {
  readonly requests: number
  readonly unmatchedShare: number
  readonly rounds: number
  /** Median ns per lookup, by candidate. */
  readonly nsPerLookup: Readonly<Record<CandidateName, number>>
  /** Every round's figure, by candidate (warm-up excluded). */
  readonly samples: Readonly<Record<CandidateName, readonly number[]>>
  readonly ratios: {
    /** gate + match vs find-my-way's find() (both start from the raw target). The headline. */
    readonly gateAndMatchVsFindMyWay: number
    /** The tree walk alone vs find-my-way's find(). */
    readonly matchVsFindMyWay: number
    readonly pathToRegexpVsFindMyWay: number
    /** Like for like: gate + match vs find-my-way with the same parameter constraints. */
    readonly gateAndMatchVsConstrainedFindMyWay: number
  }
}

export type CandidateName =
  | 'evs-authz match'
  | 'evs-authz gate+match'
  | 'find-my-way'
  | 'find-my-way + constraints'
  | 'path-to-regexp linear'

interface P2rRoute { readonly method: string, readonly fn: MatchFunction<Partial<Record<string, string>>>, readonly template: string }

interface Compiled {
  readonly matcher: Matcher
  readonly gate: PathGate
  readonly router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>
  /** The same table with our parameter constraints as find-my-way regex parameters (like for like). */
  readonly constrained: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>
  readonly linear: readonly P2rRoute[]
}

// useSemicolonDelimiter is false by default (and missing from the typings).
const STRICT: FindMyWay.Config<FindMyWay.HTTPVersion.V1> = {
  caseSensitive: true,
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  allowUnsafeRegex: false,
  maxParamLength: 255
}

/** `{name}` → `:name(<constraint>)`, with find-my-way's `::` escape for a literal colon. */
function constrainedPath (route: CompiledRoute): string {
  return route.template.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    const source = (route.constraints[name] as CompiledRoute['constraints'][string]).pattern.source.replace(/^\^/, '').replace(/\$$/, '')
    return `:${name}(${source.replaceAll(':', '::')})`
  })
}

function compileAll (routes: readonly CompiledRoute[]): Compiled {
  const router = FindMyWay(STRICT)
  const constrained = FindMyWay(STRICT)
  for (const route of routes) {
    router.on(route.method, toColonSyntax(route.template), () => {}, { template: route.template })
    constrained.on(route.method, constrainedPath(route), () => {}, { template: route.template })
  }
  const linear = routes.map((route) => ({
    method: route.method,
    template: route.template,
    fn: p2rMatch<Partial<Record<string, string>>>(toColonSyntax(route.template), { sensitive: true, trailing: false })
  }))
  return { matcher: compileMatcher(routes), gate: compilePathGate(''), router, constrained, linear }
}

// One hand-written loop per candidate: a shared loop calling through a function parameter would
// make its call site polymorphic and tax every candidate alike, hiding differences.

function runMatch (c: Compiled, mix: readonly BenchRequest[], reps: number): number {
  const matcher = c.matcher
  let hits = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      if (matcher.match(q.method, q.url, 0).kind === 'matched') hits++
    }
  }
  const ns = Number(process.hrtime.bigint() - start)
  sink(hits)
  return ns / (reps * mix.length)
}

function runGateMatch (c: Compiled, mix: readonly BenchRequest[], reps: number): number {
  const { matcher, gate } = c
  let hits = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      const gated = gate.inspect(q.url)
      if (gated.kind === 'guarded' && matcher.match(q.method, gated.path, gated.start).kind === 'matched') hits++
    }
  }
  const ns = Number(process.hrtime.bigint() - start)
  sink(hits)
  return ns / (reps * mix.length)
}

/** Both find-my-way candidates share one loop: same class, so the call site stays monomorphic. */
function runRouter (router: Compiled['router'], mix: readonly BenchRequest[], reps: number): number {
  let hits = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      if (router.find(q.method as FindMyWay.HTTPMethod, q.url) !== null) hits++
    }
  }
  const ns = Number(process.hrtime.bigint() - start)
  sink(hits)
  return ns / (reps * mix.length)
}

function runLinear (c: Compiled, mix: readonly BenchRequest[], reps: number): number {
  const linear = c.linear
  let hits = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < mix.length; i++) {
      const q = mix[i] as BenchRequest
      const method = q.method === 'HEAD' ? 'GET' : q.method
      for (let k = 0; k < linear.length; k++) {
        const route = linear[k] as P2rRoute
        if (route.method === method && route.fn(q.url) !== false) {
          hits++
          break
        }
      }
    }
  }
  const ns = Number(process.hrtime.bigint() - start)
  sink(hits)
  return ns / (reps * mix.length)
}

const RUNNERS: Readonly<Record<CandidateName, (c: Compiled, mix: readonly BenchRequest[], reps: number) => number>> = {
  'evs-authz match': runMatch,
  'evs-authz gate+match': runGateMatch,
  'find-my-way': (c, mix, reps) => runRouter(c.router, mix, reps),
  'find-my-way + constraints': (c, mix, reps) => runRouter(c.constrained, mix, reps),
  'path-to-regexp linear': runLinear
}

/** All candidates must agree on which template each request matches before any timing counts. */
function checkAgreement (c: Compiled, mix: readonly BenchRequest[]): void {
  for (const q of mix) {
    const ours = c.matcher.match(q.method, q.url, 0)
    const gated = c.gate.inspect(q.url)
    const viaGate = gated.kind === 'guarded' ? c.matcher.match(q.method, gated.path, gated.start) : undefined
    const fmw = c.router.find(q.method as FindMyWay.HTTPMethod, q.url)
    const constrained = c.constrained.find(q.method as FindMyWay.HTTPMethod, q.url)
    const linear = c.linear.find((route) => route.method === q.method && route.fn(q.url) !== false)
    const seen = [
      ours.kind === 'matched' ? ours.route.template : undefined,
      viaGate?.kind === 'matched' ? viaGate.route.template : undefined,
      (fmw?.store as { template?: string } | undefined)?.template,
      (constrained?.store as { template?: string } | undefined)?.template,
      linear?.template
    ]
    if (seen.some((t) => t !== q.template)) {
      throw new Error(`matchers disagree on ${q.method} ${q.url}: expected ${String(q.template)}, got ${seen.map(String).join(' / ')}`)
    }
  }
}

export function benchMatcher (settings: MatcherSettings): MatcherResult {
  const routes = loadRouteTable(snapshotRoutes)
  const compiled = compileAll(routes)
  const mix = requestMix()
  checkAgreement(compiled, mix)
  const names = Object.keys(RUNNERS) as CandidateName[]

  // Calibrate repetitions so each timed batch lasts about batchMs for every candidate.
  const reps = {} as Record<CandidateName, number>
  for (const name of names) {
    const run = RUNNERS[name]
    run(compiled, mix, 200)
    const ns = run(compiled, mix, 500)
    reps[name] = Math.max(50, Math.round((settings.batchMs * 1e6) / (ns * mix.length)))
  }
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<CandidateName, number[]>
  for (let round = 0; round < settings.warmupRounds + settings.rounds; round++) {
    for (const name of rotation(names, round)) {
      const ns = RUNNERS[name](compiled, mix, reps[name])
      if (round >= settings.warmupRounds) samples[name].push(ns)
    }
  }
  const ns = Object.fromEntries(names.map((n) => [n, median(samples[n])])) as Record<CandidateName, number>
  return {
    requests: mix.length,
    unmatchedShare: mix.filter((q) => q.template === undefined).length / mix.length,
    rounds: settings.rounds,
    nsPerLookup: ns,
    samples,
    ratios: {
      gateAndMatchVsFindMyWay: ns['evs-authz gate+match'] / ns['find-my-way'],
      matchVsFindMyWay: ns['evs-authz match'] / ns['find-my-way'],
      pathToRegexpVsFindMyWay: ns['path-to-regexp linear'] / ns['find-my-way'],
      gateAndMatchVsConstrainedFindMyWay: ns['evs-authz gate+match'] / ns['find-my-way + constraints']
    }
  }
}
