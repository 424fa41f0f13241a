// Every disagreement the differential test ever found (test/differential/regressions.json), replayed without
// Cinder. Each case carries the request, its context (persona, options, forwarder), the bytes evs-authz let
// through at the time and what Cinder's own code did with exactly those bytes (the oracle's recorded facts).
// Today's decision must not be an allow of a different row: it denies, or it forwards the same bytes and the
// recorded facts now agree with it, or it forwards other bytes from which the query text that Cinder read
// (per the recorded facts) is gone. The differential run (npm run test:differential) replays the same cases
// against the live oracle and checks that the recorded facts still hold for the installed Cinder.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { decide, forwarded, judge, offendingSegments, querySegments, serialize, type RegressionCase } from './differential/model.js'

const cases = JSON.parse(readFileSync(new URL('./differential/regressions.json', import.meta.url), 'utf8')) as RegressionCase[]

t.ok(cases.length > 0, `${cases.length} recorded disagreements`)

for (const [i, c] of cases.entries()) {
  const target = c.request.target.length > 100 ? `${c.request.target.slice(0, 100)}…` : c.request.target
  const { persona, options, forwarder } = c.context
  const title = `case ${i} (${c.class}): ${c.request.method} ${target} as ${persona}, ${options}, ${forwarder}`
  t.test(title, async (t) => {
    // The recorded facts are a disagreement with the allow of the time: the judge still flags it (neither the
    // file nor the judge has drifted into vacuity).
    const flagged = judge(c.decided, c.context, c.oracle, c.forwarded.target).some((d) => d.class === c.class)
    t.ok(flagged, `the recorded allow (${c.decided.reason}) and Cinder's recorded facts disagree (${c.class})`)
    const decision = decide(c.request, c.context)
    if (decision.kind === 'deny') {
      t.pass(`denied now (${decision.reason})`)
      return
    }
    const sent = forwarded(c.request, decision, c.context)
    if (sent === undefined) {
      t.pass('allowed, but the forwarder cannot resolve the target: nothing is forwarded')
      return
    }
    if (serialize(sent).equals(serialize(c.forwarded))) {
      // The same bytes reach Cinder: what it does with them is recorded, so today's allow can be judged.
      const same = `allowed (${decision.reason}) with the same forwarded bytes: the recorded Cinder facts must agree`
      t.same(judge(decision, c.context, c.oracle, sent.target), [], same, {
        forwarded: serialize(sent).toString('latin1'),
        cinder: c.oracle.dispatched ?? c.oracle.query
      })
      return
    }
    const offending = offendingSegments(c.class, c.oracle.dispatched?.query ?? c.oracle.query)
    t.ok(offending.length > 0, 'only query text that Cinder read can be removed by a forwardUrl: this class must be denied', { offending })
    const remaining = querySegments(sent.target).filter((segment) => offending.includes(segment))
    t.same(remaining, [], `allowed with other forwarded bytes (${sent.target}): none of ${JSON.stringify(offending)} remains`)
    t.equal(sent.method, c.forwarded.method, 'the method is unchanged (only the query is rewritten)')
    t.equal(sent.target.split('?', 1)[0], c.forwarded.target.split('?', 1)[0], 'the path is unchanged (only the query is rewritten)')
  })
}
