// `npm run bench` (about 3 minutes on 2 cores) and `npm run bench -- --quick` (about 30 s).
// Prints a markdown report on stdout (progress goes to stderr) and writes bench/results.json (full runs only:
// --quick and --only= write bench/results-partial.json, so the committed full figures stay).
// `npm run bench` builds the benchmarks (scripts/build-bench.mjs) and runs the JavaScript with plain node and
// --expose-gc (allocation figures need gc()); bench/lib/child.ts says why not tsx.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { benchMatcher, type MatcherResult } from './lib/matcher.js'
import { benchCases, decisionCases, grantScaleCases, tableScaleCases, timerOverhead, type DecisionFigures } from './lib/decision.js'
import { benchGateway, type GatewayResult } from './lib/gateway.js'
import { benchVersus, type VersusResult } from './lib/versus.js'
import { benchHostile, type HostileResult } from './lib/hostile.js'
import { benchIdentity, type IdentityResult } from './lib/identity.js'
import { BENCH_DIR } from './lib/child.js'
import { fmt, machineInfo, median, ratio, resultsFileName, round, table } from './lib/stats.js'

const started = Date.now()
const quick = process.argv.includes('--quick')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')
const wants = (section: string): boolean => only === undefined || only.includes(section)
const log = (line: string): void => { process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${line}\n`) }

const SETTINGS = quick
  ? {
      matcher: { warmupRounds: 2, rounds: 7, batchMs: 15 },
      versus: { warmupRounds: 2, rounds: 7, batchMs: 15 },
      decision: { warmupRounds: 1, rounds: 3, batchMs: 15, allocSamples: 5 },
      scale: { warmupRounds: 1, rounds: 3, batchMs: 10, allocSamples: 3 },
      gateway: { connections: 50, warmupRequests: 3000, seconds: 1, rounds: 3, pairedRounds: 4, pairedSeconds: 1 },
      identity: { connections: 50, warmupRequests: 3000, seconds: 1, rounds: 3, coldSamples: 30 }
    }
  : {
      matcher: { warmupRounds: 3, rounds: 15, batchMs: 40 },
      versus: { warmupRounds: 3, rounds: 21, batchMs: 40 },
      decision: { warmupRounds: 1, rounds: 5, batchMs: 50, allocSamples: 11 },
      scale: { warmupRounds: 1, rounds: 5, batchMs: 40, allocSamples: 7 },
      gateway: { connections: 50, warmupRequests: 30000, seconds: 4, rounds: 4, pairedRounds: 20, pairedSeconds: 3 },
      identity: { connections: 50, warmupRequests: 20000, seconds: 4, rounds: 4, coldSamples: 200 }
    }

const TABLE_SIZES = [19, 1000, 10000]
const GRANT_SIZES = [1, 100, 1000]

interface Target {
  readonly what: string
  readonly value: number
  readonly shown: string
  readonly target: string
  readonly met: boolean | undefined
}

const machine = machineInfo()
log(`evs-authz bench (${quick ? 'quick' : 'full'}) on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`)

if ((globalThis as { gc?: unknown }).gc === undefined) {
  log('allocation figures need --expose-gc: run `npm run bench` (node --expose-gc .bench-build/bench/run.js)')
  process.exit(2)
}

let matcher: MatcherResult | undefined
if (wants('matcher')) {
  log('matcher ...')
  matcher = benchMatcher(SETTINGS.matcher)
}

let versus: VersusResult | undefined
if (wants('versus')) {
  log('decision vs find-my-way ...')
  versus = benchVersus(SETTINGS.versus)
}

let decision: DecisionFigures[] | undefined
const overheadNs = timerOverhead()
if (wants('decision')) {
  log('decision ...')
  decision = await benchCases(decisionCases(), ['cached', 'uncached'], SETTINGS.decision)
}

let tableScale: DecisionFigures[] | undefined
let grantScale: DecisionFigures[] | undefined
if (wants('scale')) {
  log('scale ...')
  tableScale = await benchCases(tableScaleCases(TABLE_SIZES), ['cached'], SETTINGS.scale)
  grantScale = await benchCases(grantScaleCases(GRANT_SIZES), ['cached', 'uncached'], SETTINGS.scale)
}

let hostile: HostileResult | undefined
if (wants('hostile')) {
  log('hostile inputs ...')
  hostile = benchHostile(quick ? { rounds: 5, batchMs: 15 } : { rounds: 11, batchMs: 40 })
}

let gateway: GatewayResult | undefined
if (wants('gateway') || wants('paired')) {
  // `--only=paired`: only the paired rounds of (a+jwt) and (b), with only those servers started.
  const pairedOnly = !wants('gateway')
  log(pairedOnly ? 'gateway paired rounds (autocannon) ...' : 'gateway throughput (autocannon) ...')
  gateway = await benchGateway(SETTINGS.gateway, log, pairedOnly)
}

let identity: IdentityResult | undefined
if (wants('identity')) {
  log('identity: evs-authz gateway with Keystone (warm cache) vs JWT identity ...')
  identity = await benchIdentity(SETTINGS.identity, log)
}

// ---- targets and report ----

const find = (list: DecisionFigures[] | undefined, name: string, mode: string): DecisionFigures | undefined =>
  list?.find((f) => f.case === name && f.mode === mode)
const targets: Target[] = []
const add = (what: string, value: number | undefined, shown: (v: number) => string, target: string,
  met: ((v: number) => boolean) | undefined): void => {
  if (value === undefined || Number.isNaN(value)) return
  targets.push({ what, value, shown: shown(value), target, met: met === undefined ? undefined : met(value) })
}
add('Decision: whole authorize() vs find-my-way find() (same table and mix, one process)',
  versus?.ratios.decisionVsFindMyWay, ratio, '<= 1.0x', (v) => v <= 1)
add('Decision: gate + match as the authorizer runs it (fast path) vs find-my-way find()',
  versus?.ratios.readerVsFindMyWay, ratio, 'info', undefined)
add('Gateway with vs without evs-authz (identity in both): b/(a+jwt), median of paired rounds',
  gateway?.paired?.medianRatio, ratio, '>= 0.98', (v) => v >= 0.98)
add('Gateway with vs without evs-authz, by the gateway\'s CPU time per request: (a+jwt)/b, median of the same paired rounds',
  gateway?.paired?.cpuMedianRatio, ratio, '>= 0.98', (v) => v >= 0.98)
add('Matcher: gate + match vs find-my-way find() (time per lookup)', matcher?.ratios.gateAndMatchVsFindMyWay, ratio, '<= 0.5x',
  (v) => v <= 0.5)
add('Matcher: tree walk alone vs find-my-way find()', matcher?.ratios.matchVsFindMyWay, ratio, '<= 0.5x', (v) => v <= 0.5)
add('Matcher: gate + match vs find-my-way with the same constraints (like for like)',
  matcher?.ratios.gateAndMatchVsConstrainedFindMyWay, ratio, 'info', undefined)
add('Decision p50, three plain actions (grants cached)', find(decision, 'three plain actions', 'cached')?.p50Ns, (v) => `${fmt(v)} ns`,
  '<= 500 ns', (v) => v <= 500)
add('Decision p50, te_admin role (grants cached)', find(decision, 'te_admin role', 'cached')?.p50Ns, (v) => `${fmt(v)} ns`,
  '<= 500 ns', (v) => v <= 500)
add('Decision p50, three plain actions (grants uncached)', find(decision, 'three plain actions', 'uncached')?.p50Ns,
  (v) => `${fmt(v)} ns`, 'info', undefined)
add('Decision p50, te_admin role (grants uncached)', find(decision, 'te_admin role', 'uncached')?.p50Ns, (v) => `${fmt(v)} ns`, 'info',
  undefined)
add('Gateway b/a: evs-authz + @fastify/jwt vs no authorization (req/s)', gateway?.ratios.bOverA, ratio, '>= 0.95', (v) => v >= 0.95)
add('Gateway b/(a+jwt): evs-authz alone (both verify the JWT)', gateway?.ratios.bOverAJwt, ratio, 'info', undefined)
add('Gateway b/c: evs-authz vs casbin keyMatch2 (req/s)', gateway?.ratios.bOverC, ratio, '>= 1.2', (v) => v >= 1.2)
add(`Hostile: StringMatch with ${hostile?.stringMatch.wildcards ?? 13} * vs a ${hostile?.stringMatch.nameLength ?? 255}-character name, ` +
  'one decision', hostile?.stringMatch.matchNs, (v) => `${fmt(v / 1000, 1)} µs`, 'microseconds', (v) => v < 1e6)
add(`Hostile: worst-case ${hostile?.target.length ?? ''}-character path vs a plain one of the same length`, hostile?.target.ratio,
  ratio, '<= 3x', (v) => v <= 3)
add(`Hostile: ${hostile?.longTarget.length ?? ''}-character path without escapes (still read) vs a plain one of the same length`,
  hostile?.longTarget.ratio, ratio, '<= 3x', (v) => v <= 3)
add('evs-authz gateway: Keystone identity (warm cache) vs JWT identity (req/s)', identity?.keystoneOverJwt, ratio, 'info', undefined)
add('Cached Keystone validation: identity.grants() on a hit', identity?.cachedValidationNs, (v) => `${fmt(v)} ns`, '<= 2000 ns',
  (v) => v <= 2000)
add('Cold validation vs a fake Keystone on loopback (median)', identity?.coldValidationMs, (v) => `${fmt(v, 2)} ms`, 'info', undefined)
const t19 = find(tableScale, '19 routes', 'cached')?.meanNs
const t10k = find(tableScale, '10000 routes', 'cached')?.meanNs
add('Scale: 10,000 vs 19 routes (526x), mean time per decision', t19 === undefined || t10k === undefined ? undefined : t10k / t19,
  ratio, '<= 2x', (v) => v <= 2)

const out: string[] = []
out.push(`# evs-authz benchmarks (${quick ? 'quick' : 'full'} run)`, '')
out.push(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node} ` +
  `(V8 ${machine.v8}), ${machine.date}.`)
out.push(`Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '')
out.push('## Headline ratios and targets', '')
out.push(table(['Measure', 'Result', 'Target', 'Met'],
  targets.map((t) => [t.what, t.shown, t.target, t.met === undefined ? '-' : t.met ? 'yes' : '**no**'])), '')

if (versus !== undefined) {
  const unmatched = Math.round(versus.unmatchedShare * 100)
  out.push(`## 0. Decision vs find-my-way (${versus.requests} requests: every route v2 + v3, ${unmatched}% matching nothing; ` +
    `median of ${versus.rounds} rotated rounds in one process, CPU time)`, '')
  const fmw = versus.nsPerRequest['find-my-way find()']
  const rows = Object.entries(versus.nsPerRequest).map(([name, ns]) => [name, fmt(ns, 1), ratio(ns / fmw)])
  out.push(table(['Candidate', 'ns/request', 'vs find-my-way'], rows), '')
  out.push('authorize() is the whole decision with the headers of section 2, grants cached (the same claims object each time); ' +
    'find() is find-my-way\'s lookup of the same table (strict settings of section 1). ' +
    'Batches are timed in this process\'s CPU time (process.cpuUsage), so other load on the machine does not land in one candidate. ' +
    `Per-round ratio of the headline: ${ratio(versus.ratios.decisionRoundRatioMin)} to ${ratio(versus.ratios.decisionRoundRatioMax)}.`, '')
}

if (matcher !== undefined) {
  out.push(`## 1. Matcher (${matcher.requests} requests: every route v2 + v3, ${Math.round(matcher.unmatchedShare * 100)}% matching ` +
    `nothing; median of ${matcher.rounds} interleaved rounds)`, '')
  const fmw = matcher.nsPerLookup['find-my-way']
  out.push(table(['Candidate', 'ns/lookup', 'vs find-my-way'],
    Object.entries(matcher.nsPerLookup).map(([name, ns]) => [name, fmt(ns, 1), ratio(ns / fmw)])), '')
}

const decisionRows = (list: DecisionFigures[]): Array<Array<string | number>> => list.map((f) => [
  f.case, f.mode, fmt(f.p50Ns), fmt(f.p99Ns), fmt(f.meanNs), fmt(f.bytesPerDecision), `${Math.round(f.allowShare * 100)}%`
])
const decisionHead = ['Case', 'Grants', 'p50 ns', 'p99 ns', 'mean ns', 'bytes/decision', 'allowed']
if (decision !== undefined) {
  out.push('## 2. Decision: authorize() end to end (gate + match + grants + evaluation), every route v2 + v3', '')
  out.push(table(decisionHead, decisionRows(decision)), '')
  out.push('cached: the same claims object for every decision (as a JWT verifier cache returns it), so grants are compiled once; ' +
    'uncached: a fresh claims object per decision, so grants are compiled every time. p50/p99 from individually timed decisions minus ' +
    `the timer's own cost (${fmt(overheadNs)} ns per hrtime.bigint() pair); mean from untimed batches. Bytes: used_heap_size ` +
    '(v8.getHeapStatistics) before and after a run of decisions small enough to stay inside the young generation, after two gc() ' +
    'calls, minus an empty run, median of samples with no GC inside (checked with a PerformanceObserver on \'gc\').', '')
}

if (gateway !== undefined && gateway.variants.length > 0) {
  const s = gateway.settings
  out.push(`## 3. Gateway throughput (autocannon, ${s.connections} connections, ${s.rounds} interleaved rounds of ${s.seconds} s per ` +
    `variant after ${fmt(s.warmupRequests)} warm-up requests each; every route v2 + v3 in turn)`, '')
  const a = gateway.variants.find((v) => v.variant === 'a')?.reqPerSec ?? NaN
  out.push(table(['Variant', 'What', 'req/s (median)', 'p99 ms (median)', 'vs a', 'status'],
    gateway.variants.map((v) =>
      [v.variant, v.description, fmt(v.reqPerSec), fmt(v.p99Ms, 1), ratio(v.reqPerSec / a), v.expectedStatus])), '')
  out.push(`Ratios: b/a ${ratio(gateway.ratios.bOverA)}, b/c ${ratio(gateway.ratios.bOverC)}, ` +
    `b/(a+jwt) ${ratio(gateway.ratios.bOverAJwt)}, d/a ${ratio(gateway.ratios.dOverA)}. ` +
    'Each server is its own process; the backend (node:http, small JSON) is another; autocannon runs in this process on the ' +
    `same ${machine.cores} cores. ` +
    'Loggers at info into /dev/null, Fastify\'s request lines off in every variant. @fastify/jwt cache returned the same claims object ' +
    `for a repeated token: ${String(gateway.sameClaimsObject)}.`, '')
}
if (gateway?.paired !== undefined) {
  const p = gateway.paired
  const where = p.pinned ? ', the three gateways pinned to one CPU, the load generator and backend to the others' : ''
  out.push(`### 3b. Paired rounds: (b) vs (a+jwt), ${p.rounds} rounds of ${p.seconds} s over ${p.generations} sets of freshly ` +
    `started gateways, both (and the floor) at once${where}`, '')
  out.push(`b/(a+jwt) median of the per-round ratios ${ratio(p.medianRatio)} (interquartile ${ratio(p.q1Ratio)} to ${ratio(p.q3Ratio)}, ` +
    `range ${ratio(p.minRatio)} to ${ratio(p.maxRatio)}); per round: ${p.ratios.map((r) => r.toFixed(3)).join(', ')}. ` +
    `Median req/s: (a+jwt) ${fmt(median(p.jwtReqPerSec))}, (b) ${fmt(median(p.authzReqPerSec))}.`, '')
  out.push(`By each gateway process's CPU time per request (/proc, the same rounds): (a+jwt) ${fmt(p.jwtCpuMicrosPerRequest, 1)} µs, ` +
    `(b) ${fmt(p.authzCpuMicrosPerRequest, 1)} µs; (a+jwt)/b median ${ratio(p.cpuMedianRatio)} ` +
    `(interquartile ${ratio(p.cpuQ1Ratio)} to ${ratio(p.cpuQ3Ratio)}); per round: ${p.cpuRatios.map((r) => r.toFixed(3)).join(', ')}. ` +
    'Requests per second move with whatever else runs on the cores; CPU per request does not. ' +
    'The floor: (a+jwt) with two empty hooks (onRequest, preParsing) where the plugin has its own costs ' +
    `${fmt(p.hooksCpuMicrosPerRequest, 1)} µs, ` +
    `(a+jwt)/floor median ${ratio(p.hooksCpuMedianRatio)}: what evs-authz would score if its own work were free.`, '')
}

if (tableScale !== undefined && grantScale !== undefined) {
  out.push('## 4. Scale', '')
  out.push('Route table growth: the 19 v2 rows plus synthetic rows (distinct static collection names), the same 19 requests, te_admin, ' +
    'grants cached.', '')
  const base = tableScale[0]?.meanNs ?? NaN
  out.push(table(['Routes', 'p50 ns', 'p99 ns', 'mean ns', 'mean vs 19 routes', 'bytes/decision'],
    tableScale.map((f) => [f.case, fmt(f.p50Ns), fmt(f.p99Ns), fmt(f.meanNs), ratio(f.meanNs / base), fmt(f.bytesPerDecision)])), '')
  out.push('Grant growth: one policy of N statements (the EVS grants and a Deny last, so evaluation visits every statement), every ' +
    'route v2 + v3.', '')
  out.push(table(decisionHead, decisionRows(grantScale)), '')
}

if (identity !== undefined) {
  const s = identity.settings
  out.push(`## 5. Identity (\`evs-authz gateway\`, ${s.connections} connections, ${s.rounds} interleaved rounds of ${s.seconds} s, ` +
    'every route v2 + v3, te_admin)', '')
  out.push(table(['Identity', 'req/s (median)', 'vs JWT'], [
    ['Keystone, warm cache (fake Keystone, token validated once)', fmt(identity.reqPerSec.keystone), ratio(identity.keystoneOverJwt)],
    ['JWT (HS256, @fastify/jwt cache on)', fmt(identity.reqPerSec.jwt), ratio(1)]
  ]), '')
  out.push(`A cached validation (SHA-256 of the token, LRU lookup, expiry check) costs ${fmt(identity.cachedValidationNs)} ns. A cold ` +
    `validation against a fake Keystone on loopback costs ${fmt(identity.coldValidationMs, 2)} ms (median of ${s.coldSamples}); a real ` +
    'Keystone adds its own 10-30 ms (the real-Keystone e2e prints its figures).', '')
}

if (hostile !== undefined) {
  const { stringMatch: m, target: p, longTarget: l } = hostile
  out.push('## 6. Hostile inputs (interleaved rounds, median)', '')
  out.push(table(['Input', 'ns per decision', 'baseline', 'baseline ns', 'ratio'], [
    [`StringMatch, ${m.wildcards} * vs ${m.nameLength} characters`, fmt(m.matchNs), 'StringEquals on the same name', fmt(m.equalsNs),
      ratio(m.ratio)],
    [`worst-case ${p.length}-character path (${p.worstDecision})`, fmt(p.worstNs), 'plain canonical path, same length', fmt(p.plainNs),
      ratio(p.ratio)],
    [`${l.length}-character path without escapes (${l.worstDecision})`, fmt(l.worstNs), 'plain canonical path, same length',
      fmt(l.plainNs), ratio(l.ratio)]
  ]), '')
  out.push('Grants are compiled per decision (a fresh claims object) in the StringMatch rows, so the condition runs every time. ' +
    'The worst-case path is escapes, nested %25, overlong UTF-8, backslashes, dot segments and fullwidth letters at the longest length ' +
    'the lenient reading decodes; longer paths with escapes are refused unread. A longer path without escapes or non-ASCII is still ' +
    'read (upper case, backslashes, dot segments, ;params and versions everywhere in the row above).', '')
}

const seconds = (Date.now() - started) / 1000
out.push(`Total run time ${round(seconds, 1)} s. Reproduce: \`npm ci && npm run bench\` (or \`npm run bench -- --quick\`); ` +
  `figures in bench/${resultsFileName(process.argv)}.`)
process.stdout.write(`${out.join('\n')}\n`)

const results = {
  mode: quick ? 'quick' : 'full',
  machine,
  settings: SETTINGS,
  durationSeconds: round(seconds, 1),
  timerOverheadNs: overheadNs,
  targets,
  versus,
  matcher,
  decision,
  gateway,
  hostile,
  identity,
  scale: tableScale === undefined ? undefined : { tables: tableScale, grants: grantScale, tableSizes: TABLE_SIZES, grantSizes: GRANT_SIZES }
}
const resultsFile = resultsFileName(process.argv)
writeFileSync(join(BENCH_DIR, resultsFile), `${JSON.stringify(results, null, 2)}\n`)
log(`wrote bench/${resultsFile} (${round(seconds, 1)} s)`)
