// The differential test: evs-authz's decision against Cinder's own request reading (docs/differential-testing.md).
// Not part of `npm test` (it needs Debian's python3-cinder and a configuration from scripts/cinder/setup.sh):
// `npm run test:differential`, with CINDER_DIR naming the configuration (default ${TMPDIR:-/tmp}/evs-authz-cinder).
//
// fast-check generates raw requests (arbitraries.ts). Each is judged by evs-authz under every persona, option
// set and forwarder (model.ts); every allow is forwarded as a gateway would and sent, as raw bytes, to ONE
// long-lived oracle process running Cinder's real cinder-api stack (scripts/cinder/oracle.py). An allow
// disagrees when Cinder would run another row than the one authorized (or any snapshot operation for an
// unjudged request), read a cross-project parameter evs-authz did not grant, or filter by an enterprise
// project evs-authz did not judge. Pass 1 counts every disagreement per class; pass 2 shrinks one
// counterexample per class (printed) and records it in regressions.json, which is replayed first, here
// against Cinder and in test/differential-regressions.test.ts without it.
//
// Environment: DIFF_RUNS (default 50000), DIFF_SEED (default random; printed), ORACLE_PORT (default 0: any
// free port), CINDER_DIR.
import t from 'tap'
import fc from 'fast-check'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rawRequest } from './arbitraries.js'
import { startOracle, type Oracle } from './oracle-client.js'
import {
  CINDER_ROWS, FORWARDERS, OPTION_SET_NAMES, PERSONA_NAMES, PROJECT, decide, forwarded, judge, judgedAllow, rowKey, serialize,
  type Context, type Disagreement, type DisagreementClass, type JudgedAllow, type OracleAnswer, type RawRequest, type RegressionCase
} from './model.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CINDER_DIR = process.env['CINDER_DIR'] ?? join(process.env['TMPDIR'] ?? '/tmp', 'evs-authz-cinder')
const CONFIG = join(CINDER_DIR, 'cinder.conf')
const REGRESSIONS = join(ROOT, 'test/differential/regressions.json')
const RUNS = Number(process.env['DIFF_RUNS'] ?? 50_000)
const SEED = Number(process.env['DIFF_SEED'] ?? Math.floor(Math.random() * 0x7fffffff))
const CONTEXTS: readonly Context[] = PERSONA_NAMES.flatMap((persona) =>
  OPTION_SET_NAMES.flatMap((options) => FORWARDERS.map((forwarder) => ({ persona, options, forwarder }))))

interface Found {
  readonly context: Context
  readonly decided: JudgedAllow
  readonly forwarded: RawRequest
  readonly answer: OracleAnswer
  readonly disagreement: Disagreement
}

const figures = { generated: 0, withAllow: 0, decisions: 0, allows: 0, oracleCalls: 0, disagreements: 0 }
const perClass = new Map<DisagreementClass, number>()
const firstRun = new Map<DisagreementClass, number>()
const answers = new Map<string, Promise<OracleAnswer>>()
/** Table rows evs-authz allowed and Cinder then ran as that very row: the comparison is not vacuous. */
const confirmed = new Set<string>()

function describeRequest (request: RawRequest): string {
  const text = serialize(request).toString('latin1')
  return text.length > 1500 ? `${text.slice(0, 1500)}…` : text
}

if (!existsSync(CONFIG) || !existsSync(join(CINDER_DIR, 'db-synced'))) {
  t.fail(`no synced Cinder configuration in ${CINDER_DIR}: run CINDER_DIR=${CINDER_DIR} scripts/cinder/setup.sh first`)
} else {
  const started = Date.now()
  const oracle = await startOracle(ROOT, CINDER_DIR, Number(process.env['ORACLE_PORT'] ?? 0))
  t.teardown(() => oracle.stop())
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  t.comment(`oracle: Cinder's cinder-api stack on 127.0.0.1:${oracle.port} (config ${CONFIG}), up in ${seconds} s`)
  await suite(oracle)
}

async function ask (oracle: Oracle, request: RawRequest): Promise<OracleAnswer> {
  const key = serialize(request).toString('latin1')
  let answer = answers.get(key)
  if (answer === undefined) {
    figures.oracleCalls++
    answer = oracle.ask(serialize(request))
    answers.set(key, answer)
  }
  return await answer
}

/** Every disagreement of one request, over every persona, option set and forwarder. */
async function disagreements (oracle: Oracle, request: RawRequest, count: boolean): Promise<Found[]> {
  const found: Found[] = []
  for (const context of CONTEXTS) {
    const decision = decide(request, context)
    if (count) figures.decisions++
    if (decision.kind === 'deny') continue
    const sent = forwarded(request, decision, context)
    if (sent === undefined) continue
    if (count) figures.allows++
    const answer = await ask(oracle, sent)
    const key = rowKey(decision)
    const row = key === undefined ? undefined : CINDER_ROWS[key]
    const ranThatRow = row !== undefined && answer.dispatched?.method === row.method && answer.dispatched.resource === row.controller
    if (count && key !== undefined && ranThatRow) confirmed.add(key)
    for (const disagreement of judge(decision, context, answer, sent.target)) {
      found.push({ context, decided: judgedAllow(decision), forwarded: sent, answer, disagreement })
    }
  }
  return found
}

async function suite (oracle: Oracle): Promise<void> {
  await t.test('the oracle runs Cinder\'s router: positive controls', async (t) => {
    const get = async (target: string, token = `evs-gateway:${PROJECT}`): Promise<OracleAnswer> =>
      await oracle.ask(serialize({ method: 'GET', target, headers: [['Host', 'h'], ['X-Auth-Token', token]], body: '' }))
    const show = await get(`/v3/${PROJECT}/snapshots/abc`)
    const expected = { controller: 'cinder.api.v3.snapshots.SnapshotsController', method: 'show', args: { project_id: PROJECT, id: 'abc' } }
    t.match(show.dispatched, expected, 'GET .../snapshots/abc runs SnapshotsController.show')
    const overridden = await get(`/v3/${PROJECT}/snapshots/abc?_method=DELETE`)
    t.match(overridden.dispatched, { method: 'delete', request_method: 'GET' }, 'method override: a GET with ?_method=DELETE deletes')
    const listed = await get(`/v3/${PROJECT}/snapshots?limit=5;all_tenants=1`)
    t.same(listed.dispatched?.query.all_tenants?.all, ['1'], 'webob splits on ";": the controller reads all_tenants=1')
    // noauth makes every token an admin, and Cinder lists every project for an admin; --isolated tokens are not admins.
    const isolated = existsSync(join(CINDER_DIR, 'auth-mode')) && readFileSync(join(CINDER_DIR, 'auth-mode'), 'utf8').trim() === 'isolated'
    const scope = isolated ? 'the token\'s project only (not an admin)' : 'every project'
    const list = { outcome: 'listed', scope: isolated ? 'project' : 'all-projects' }
    t.match(listed.dispatched?.list, list, `Cinder's own list code then lists ${scope}`)
    const missing = await get(`/v3/${PROJECT}/nothing-here`)
    t.same([missing.status, missing.dispatched], [404, null], 'no route: 404, nothing dispatched')
    const mismatch = await get(`/v3/${PROJECT}/snapshots/abc`, 'x:fedcba9876543210fedcba9876543210')
    t.same([mismatch.status, mismatch.dispatched], [400, null], 'another project in the URL: Cinder\'s own 400, nothing dispatched')
  })

  const recorded = existsSync(REGRESSIONS) ? JSON.parse(readFileSync(REGRESSIONS, 'utf8')) as RegressionCase[] : []
  await t.test(`replay of ${recorded.length} recorded disagreements (regressions.json)`, async (t) => {
    for (const [i, c] of recorded.entries()) {
      const again = await oracle.ask(serialize(c.forwarded))
      // The recorded facts the Cinder-free replay relies on still hold for the installed Cinder.
      const facts = ({ status, dispatched: d }: OracleAnswer): unknown[] => [status, d?.controller, d?.method, d?.args]
      t.same(facts(again), facts(c.oracle), `case ${i} (${c.class}): Cinder still does what was recorded`)
      const flagged = judge(c.decided, c.context, again, c.forwarded.target).some((d) => d.class === c.class)
      t.ok(flagged, `case ${i} (${c.class}): the recorded allow still disagrees with Cinder`)
      const decision = decide(c.request, c.context)
      if (decision.kind === 'deny') {
        t.pass(`case ${i} (${c.class}): denied (${decision.reason})`)
        continue
      }
      const sent = forwarded(c.request, decision, c.context)
      const found = sent === undefined ? [] : judge(decision, c.context, await oracle.ask(serialize(sent)), sent.target)
      const about = { request: describeRequest(c.request), context: c.context }
      t.same(found, [], `case ${i} (${c.class}): allowed (${decision.reason}) and Cinder agrees`, about)
    }
  })

  const title = `${RUNS} generated requests × ${CONTEXTS.length} (persona, options, forwarder): every allow agrees with Cinder`
  await t.test(title, async (t) => {
    const started = Date.now()
    t.comment(`seed ${SEED} (DIFF_SEED=${SEED} DIFF_RUNS=${RUNS} replays this run)`)
    // Pass 1: count every disagreement, never stopping.
    let run = 0
    await fc.assert(fc.asyncProperty(rawRequest, async (request) => {
      const index = run++
      figures.generated++
      const allowsBefore = figures.allows
      const found = await disagreements(oracle, request, true)
      if (figures.allows > allowsBefore) figures.withAllow++
      for (const { disagreement } of found) {
        figures.disagreements++
        perClass.set(disagreement.class, (perClass.get(disagreement.class) ?? 0) + 1)
        if (!firstRun.has(disagreement.class)) firstRun.set(disagreement.class, index)
      }
      return true
    }), { numRuns: RUNS, seed: SEED })
    const pass1 = (Date.now() - started) / 1000

    // Pass 2: one shrunk counterexample per class, replayed from its first failing run.
    const minimal: RegressionCase[] = []
    for (const [klass, index] of firstRun) {
      const agrees = fc.asyncProperty(rawRequest, async (request) =>
        !(await disagreements(oracle, request, false)).some((f) => f.disagreement.class === klass))
      const result = await fc.check(agrees, { seed: SEED, path: String(index), numRuns: RUNS })
      const request = result.counterexample?.[0]
      if (request === undefined) {
        t.fail(`class ${klass}: the replay of run ${index} did not fail again`)
        continue
      }
      const found = (await disagreements(oracle, request, false)).find((f) => f.disagreement.class === klass) as Found
      const { context, decided, forwarded: sent, answer, disagreement } = found
      const detail = disagreement.detail
      minimal.push({ class: klass, found: foundAt(), detail, request, context, decided, forwarded: sent, oracle: answer })
      t.fail(`disagreement (${klass}, ${perClass.get(klass)} in this run): ${found.disagreement.detail}`, {
        request: describeRequest(request),
        context: found.context,
        forwarded: describeRequest(found.forwarded),
        cinder: { status: found.answer.status, dispatched: found.answer.dispatched, query: found.answer.query }
      })
    }
    const added = record(recorded, minimal)
    if (added > 0) t.comment(`added ${added} regression case(s) to test/differential/regressions.json: commit them`)
    const seconds = (Date.now() - started) / 1000
    const classes = perClass.size > 0 ? ` (${[...perClass].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''
    t.comment(`differential: ${figures.generated} generated requests (${figures.withAllow} allowed in some context), ` +
      `${figures.decisions} decisions, ${figures.allows} allows checked, ${figures.oracleCalls} distinct requests asked of Cinder, ` +
      `${figures.disagreements} disagreements${classes}; ${pass1.toFixed(1)} s generating, ${seconds.toFixed(1)} s in all`)
    t.equal(figures.disagreements, 0, 'no disagreements')
    t.same(Object.keys(CINDER_ROWS).filter((row) => !confirmed.has(row)), [],
      `every table row with a Cinder counterpart was allowed and run by Cinder as that row (${confirmed.size}): the test is not vacuous`)
  })
}

function foundAt (): string {
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
  } catch {
    // not a git checkout: the date alone
  }
  return `${new Date().toISOString().slice(0, 10)} at ${commit}`
}

/** Appends the cases whose (class, request, context) is not recorded yet; returns how many. */
function record (recorded: readonly RegressionCase[], cases: readonly RegressionCase[]): number {
  const key = (c: RegressionCase): string => JSON.stringify([c.class, c.request, c.context])
  const known = new Set(recorded.map(key))
  const fresh = cases.filter((c) => !known.has(key(c)))
  if (fresh.length === 0) return 0
  writeFileSync(REGRESSIONS, `${JSON.stringify([...recorded, ...fresh], null, 2)}\n`)
  return fresh.length
}
