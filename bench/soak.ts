// `npm run soak`: one million decisions with random personas, hostile request targets and methods,
// each compared with a slow reference evaluator (bench/soak/reference.ts). Exits non-zero on any
// mismatch (printing the first ones) or when the heap after GC grew more than 10% over the run.
// Options: --seed=<n> (default 20261128), --decisions=<n> (default 1,000,000).
import * as evsAuthz from 'evs-authz'
import { snapshotRoutes, type Decision } from 'evs-authz'
import { ReferenceEvaluator, type RefDecision } from './soak/reference.js'
import { Random, persona, prng, request, type SoakRequest } from './soak/generate.js'

const arg = (name: string, fallback: number): number => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
  return raw === undefined ? fallback : Number(raw.replaceAll('_', ''))
}
const seed = arg('seed', 20261128)
const total = arg('decisions', 1_000_000)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error('run with node --expose-gc (npm run soak does)')
  process.exit(2)
}

const random = new Random(prng(seed))
// EVS_AUTHZ_SOAK_MODULE points the soak at another build (e.g. a deliberately broken copy, to check
// that the soak notices); by default it tests this package's dist/.
const module = process.env['EVS_AUTHZ_SOAK_MODULE'] === undefined
  ? evsAuthz
  : await import(process.env['EVS_AUTHZ_SOAK_MODULE']) as typeof evsAuthz
const authorizer = module.createAuthorizer()
const reference = new ReferenceEvaluator(snapshotRoutes)
// A fixed pool of personas, as a JWT verifier cache would keep them; some decisions get a fresh copy instead.
const personas = Array.from({ length: 400 }, (_, i) => persona(random, i))

interface Mismatch {
  readonly index: number
  readonly request: SoakRequest
  readonly claims: unknown
  readonly ours: unknown
  readonly reference: RefDecision
}

function summary (decision: Decision): RefDecision {
  if (decision.reason === 'not-guarded') return { outcome: 'outside' }
  if (decision.kind === 'allow') {
    return { outcome: 'allow', reason: decision.reason, ...(decision.route === undefined ? {} : { template: decision.route.template }) }
  }
  const missing = decision.reason === 'missing-action' || decision.reason === 'explicit-deny' ? { missing: [...decision.missing] } : {}
  return {
    outcome: 'deny',
    status: decision.status,
    reason: decision.reason,
    ...(decision.route === undefined ? {} : { template: decision.route.template }),
    ...missing
  }
}

const same = (a: RefDecision, b: RefDecision): boolean =>
  JSON.stringify(a, Object.keys(a).sort()) === JSON.stringify(b, Object.keys(b).sort())

const tally = new Map<string, number>()
const mismatches: Mismatch[] = []
let mismatchCount = 0

function run (from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const req = request(random)
    const base = personas[random.int(personas.length)]
    const claims = random.chance(0.2) && typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base } : base
    let ours: RefDecision
    try {
      ours = summary(authorizer.authorize(req, claims))
    } catch (error) {
      ours = { outcome: 'deny', reason: `threw ${String(error)}` }
    }
    const expected = reference.decide(req, claims)
    const key = `${ours.outcome}${ours.reason === undefined ? '' : ` ${ours.reason}`}`
    tally.set(key, (tally.get(key) ?? 0) + 1)
    if (!same(ours, expected)) {
      mismatchCount++
      if (mismatches.length < 10) mismatches.push({ index: i, request: req, claims, ours, reference: expected })
    }
  }
}

const started = Date.now()
// Long enough for the JIT to have compiled what rare requests reach late (the matcher's per-node patterns and params
// literals): after 20,000 the heap still grew by a one-time 1 MiB of code, the same at 1,000,000 as at 3,000,000.
const warmup = Math.min(100_000, Math.floor(total / 10))
run(0, warmup)
gc()
gc()
const heapStart = process.memoryUsage().heapUsed
const step = 100_000
for (let done = warmup; done < total; done += step) {
  run(done, Math.min(total, done + step))
  process.stderr.write(`\r${Math.min(total, done + step).toLocaleString('en-US')} decisions, ${mismatchCount} ` +
    `mismatches, ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
process.stderr.write('\n')
gc()
gc()
const heapEnd = process.memoryUsage().heapUsed
const growth = heapEnd / heapStart - 1
const seconds = (Date.now() - started) / 1000

const rows = [...tally].sort((a, b) => b[1] - a[1])
console.log(`# evs-authz soak: ${total.toLocaleString('en-US')} decisions, seed ${seed}, ${seconds.toFixed(1)} s (Node ${process.version})`)
console.log('')
console.log('| Outcome | Decisions | Share |')
console.log('| --- | --- | --- |')
for (const [key, count] of rows) console.log(`| ${key} | ${count.toLocaleString('en-US')} | ${(100 * count / total).toFixed(2)}% |`)
console.log('')
console.log('| Check | Result | Required |')
console.log('| --- | --- | --- |')
console.log(`| Mismatches with the reference evaluator | ${mismatchCount} | 0 |`)
console.log(`| Heap after GC, start -> end | ${(heapStart / 2 ** 20).toFixed(1)} MiB -> ${(heapEnd / 2 ** 20).toFixed(1)} MiB ` +
  `(${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%) | within 10% |`)
if (mismatches.length > 0) {
  console.log('\nFirst mismatches (replay with the same --seed):')
  for (const m of mismatches) console.log(JSON.stringify(m))
}
const ok = mismatchCount === 0 && Math.abs(growth) <= 0.1
console.log(`\n${ok ? 'PASS' : 'FAIL'}`)
process.exitCode = ok ? 0 : 1
