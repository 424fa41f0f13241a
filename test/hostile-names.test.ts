// Names that come from claims or requests are data. Object.prototype's own names and arbitrary strings, used
// as roles, enterprise-project ids, claim keys, condition operators and keys, or query parameter names, must be
// looked up as own entries only: unknown means an Allow does not apply and a Deny does. authorize() never
// throws, whatever the claims.
import t from 'tap'
import fc from 'fast-check'
import { createAuthorizer, type Decision } from '../src/index.js'
import { compileGlob, globWithinLimits, GLOB_LIMITS } from '../src/core/iam/glob.js'

const P = '0123456789abcdef0123456789abcdef'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), '__proto__']
const authorizer = createAuthorizer()
const get = { method: 'GET', url: `/v2/${P}/snapshots/${S}` }
const epList = (ep: string): { method: string, url: string } =>
  ({ method: 'GET', url: `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${encodeURIComponent(ep)}` })

/** Claims as a JSON token body would arrive: JSON.parse makes `__proto__` an own key, never the prototype. */
const claims = (json: string): unknown => JSON.parse(json)

t.test('prototype names as roles grant nothing', async (t) => {
  for (const name of PROTOTYPE_NAMES) {
    const decision = authorizer.authorize(get, claims(JSON.stringify({ project_id: P, roles: [name] })))
    t.match(decision, { kind: 'deny', reason: 'missing-action' }, name)
  }
})

t.test('prototype names as claim keys are data', async (t) => {
  const decision = authorizer.authorize(get,
    claims(`{"project_id":"${P}","__proto__":{"actions":["evs:*:*"]},"constructor":{"actions":["evs:*:*"]}}`))
  t.match(decision, { kind: 'deny', reason: 'missing-action' })
  const inherited = Object.assign(Object.create({ actions: ['evs:*:*'], project_id: P }) as object, { sub: 'u' })
  t.match(authorizer.authorize(get, inherited), { kind: 'deny' }, 'inherited properties are not grants')
})

t.test('prototype names as enterprise-project ids: only the granted id counts', async (t) => {
  for (const name of PROTOTYPE_NAMES) {
    const body = JSON.stringify({ project_id: P, enterprise_projects: [{ id: 'ep-a', actions: ['evs:snapshots:list'] }] })
    t.match(authorizer.authorize(epList(name), claims(body)), { kind: 'deny', reason: 'missing-action' }, `${name} not granted`)
    const granted = JSON.stringify({ project_id: P, enterprise_projects: [{ id: name, actions: ['evs:snapshots:list'] }] })
    t.match(authorizer.authorize(epList(name), claims(granted)), { kind: 'allow' }, `${name} granted`)
  }
})

t.test('prototype names as query parameter names change nothing', async (t) => {
  const query = PROTOTYPE_NAMES.map((n) => `${encodeURIComponent(n)}=1`).join('&')
  const reader = { project_id: P, actions: ['evs:snapshots:list'] }
  t.match(authorizer.authorize({ method: 'GET', url: `/v2/${P}/snapshots?${query}` }, reader), { kind: 'allow', reason: 'granted' })
})

t.test('prototype names as condition operators and keys: an Allow never applies, a Deny always does', async (t) => {
  for (const name of PROTOTYPE_NAMES) {
    for (const condition of [{ [name]: { 'g:UserId': ['u1'] } }, { StringEquals: { [name]: ['u1'] } }]) {
      const json = (effect: string): string => `{"project_id":"${P}","sub":"u1","policies":[{"Version":"1.1","Statement":[` +
        `{"Effect":"Allow","Action":["evs:*:*"]${effect === 'Deny' ? '' : `,"Condition":${JSON.stringify(condition)}`}}` +
        `${effect === 'Deny' ? `,{"Effect":"Deny","Action":["evs:snapshots:get"],"Condition":${JSON.stringify(condition)}}` : ''}]}]}`
      const allow = authorizer.authorize(get, claims(json('Allow')))
      t.match(allow, { kind: 'deny', reason: 'missing-action' }, `Allow with ${JSON.stringify(condition)}`)
      const deny = authorizer.authorize(get, claims(json('Deny')))
      t.match(deny, { kind: 'deny', reason: 'explicit-deny' }, `Deny with ${JSON.stringify(condition)}`)
    }
  }
})

t.test('property: authorize() never throws and never allows a request the claims cannot grant', async (t) => {
  const names = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ maxLength: 12 }))
  const hostile = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.anything({ maxDepth: 2 }), fc.dictionary(names, tie('value'), { maxKeys: 4 }),
      fc.array(tie('value'), { maxLength: 3 }))
  })).value
  fc.assert(fc.property(hostile, (raw) => {
    // Through JSON, as a token body arrives; a value JSON cannot carry is used as it is.
    let value: unknown = raw
    try { value = JSON.parse(JSON.stringify(raw) ?? 'null') } catch { /* keep the raw value */ }
    let decision: Decision
    try {
      decision = authorizer.authorize(get, value)
    } catch {
      return false
    }
    // No grant can come out of random data that names no evs action for this project.
    return decision.kind === 'deny'
  }), { numRuns: 3000 })
  t.pass('never throws, never allows')
})

t.test('invalid-grants details name positions, never claim keys', async (t) => {
  const decision = authorizer.authorize(get,
    { project_id: P, policies: [{ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:*:*'], 'SECRET-KEY': 1 }] }] })
  t.match(decision, { kind: 'deny', reason: 'invalid-grants' })
  t.notMatch(String(decision.detail), 'SECRET-KEY')
  t.match(String(decision.detail), 'policies[0].Statement[0].<element 2>')
})

t.test('globs: linear matcher agrees with a regex reference on small inputs', async (t) => {
  const glob = fc.array(fc.constantFrom('a', 'b', '*', 'ab'), { maxLength: 8 }).map((parts) => parts.join(''))
  const value = fc.array(fc.constantFrom('a', 'b'), { maxLength: 10 }).map((parts) => parts.join(''))
  fc.assert(fc.property(glob, value, (g, v) => {
    const reference = new RegExp(`^${g.split('*').join('.*')}$`)
    return compileGlob(g)(v) === reference.test(v)
  }), { numRuns: 10000 })
  t.pass('agrees')
})

t.test('globs over the limits make the statement unevaluable: an Allow never applies, a Deny does', async (t) => {
  const manyStars = `${'*a'.repeat(GLOB_LIMITS.wildcards + 1)}`
  t.notOk(globWithinLimits(manyStars))
  t.ok(globWithinLimits('*a'.repeat(GLOB_LIMITS.wildcards)))
  t.notOk(globWithinLimits('a'.repeat(GLOB_LIMITS.length + 1)))
  const policy = (effect: string, pattern: string): unknown => ({
    project_id: P,
    sub: 'aaaa',
    policies: [{
      Version: '1.1',
      Statement: [{ Effect: 'Allow', Action: ['evs:*:*'] },
        { Effect: effect, Action: ['evs:snapshots:get'], Condition: { StringMatch: { 'g:UserId': [pattern] } } }]
    }]
  })
  t.match(authorizer.authorize(get, policy('Deny', manyStars)), { kind: 'deny', reason: 'explicit-deny' }, 'a Deny over the limits applies')
  const allowOnly =
    {
      project_id: P,
      sub: 'aaaa',
      policies: [{
        Version: '1.1',
        Statement: [{ Effect: 'Allow', Action: ['evs:*:*'], Condition: { StringMatch: { 'g:UserId': [manyStars] } } }]
      }]
    }
  t.match(authorizer.authorize(get, allowOnly), { kind: 'deny', reason: 'missing-action' }, 'an Allow over the limits does not')
  const actionOverLimit = { project_id: P, actions: [`evs:${'*s'.repeat(GLOB_LIMITS.wildcards + 1)}:get`] }
  t.match(authorizer.authorize(get, actionOverLimit), { kind: 'deny' }, 'an action glob over the limits grants nothing')
})
