// Property tests for IAM policy evaluation (src/core/iam/policy.ts, action-pattern.ts, grants.ts) and the
// decision the authorizer builds from it. Expectations come from a naive reference evaluator written
// here from README "Grant formats" and "How a request is judged", or from metamorphic relations (add, shuffle, split).
import * as assert from 'node:assert/strict'
import t from 'tap'
import fc from 'fast-check'
import { splitAction } from '../../../src/core/iam/action-pattern.js'
import { createAuthorizer } from '../../../src/core/authorizer.js'
import { compileCatalogue } from '../../../src/core/iam/catalogue.js'
import { effectOf, readGrants, type ActionEffect } from '../../../src/core/iam/grants.js'
import type { IamPolicy } from '../../../src/core/iam/policy.js'
import { loadRouteTable } from '../../../src/core/routing/route-table.js'
import { snapshotRoutes } from '../../../src/routes/snapshots.js'

const PROJECT = '0a1b2c3d'
const USER = 'alice'
const routes = loadRouteTable(snapshotRoutes)
const catalogue = compileCatalogue(undefined)
const authorizer = createAuthorizer()

/** Every action of the table, plus a few outside it: another service, another resource, odd case. */
const ACTIONS = [...new Set(routes.flatMap((r) => r.actions)), 'evs:volumes:list', 'ecs:cloudServers:get', 'vpc:ports:list',
  'evs:Snapshots:Get']

// ---------------------------------------------------------------------------------------------
// Policies as plain data (the shapes Huawei IAM documents use).

type Conditions = Record<string, Record<string, string[]>>
interface Statement {
  Effect: 'Allow' | 'Deny'
  Action: string | string[]
  Condition?: Conditions
}
interface Policy {
  Version: '1.1' | '1.0'
  Statement: Statement[]
}

// ---------------------------------------------------------------------------------------------
// The reference evaluator: one regular expression per pattern segment, nothing precomputed.

function escapeRegExp (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** `*` is any run of characters inside one segment. */
function glob (pattern: string, flags: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('[^:]*')}$`, flags)
}

/** Service exactly (case-sensitive); resource type and operation ignoring case; bare `*`; `svc:*`. */
function patternMatches (pattern: string, action: string): boolean {
  if (pattern === '*') return true
  const [service, resource, operation] = action.split(':') as [string, string, string]
  const parts = pattern.split(':')
  if (parts.length === 2 && parts[1] === '*') return glob(parts[0] as string, '').test(service)
  assert.equal(parts.length, 3, `the generator only makes valid patterns, got ${pattern}`)
  return glob(parts[0] as string, '').test(service) &&
    glob(parts[1] as string, 'i').test(resource) &&
    glob(parts[2] as string, 'i').test(operation)
}

function actionsOf (statement: Statement): string[] {
  return typeof statement.Action === 'string' ? [statement.Action] : statement.Action
}

function statementMatches (statement: Statement, action: string): boolean {
  return actionsOf(statement).some((pattern) => patternMatches(pattern, action))
}

/** Condition-free statements: any matching Deny wins, else any matching Allow, else none. */
function referenceEffect (policies: readonly Policy[], action: string): ActionEffect {
  const applying = policies.flatMap((p) => p.Statement).filter((s) => statementMatches(s, action))
  if (applying.some((s) => s.Effect === 'Deny')) return 'deny'
  if (applying.some((s) => s.Effect === 'Allow')) return 'allow'
  return 'none'
}

// ---------------------------------------------------------------------------------------------
// What the code under test says.

function claimsFor (policies: readonly Policy[]): Record<string, unknown> {
  return { project_id: PROJECT, user_name: USER, policies: policies as unknown as IamPolicy[] }
}

function effects (policies: readonly Policy[]): ActionEffect[] {
  const result = readGrants(claimsFor(policies), catalogue)
  assert.ok(result.kind === 'grant', `grants are valid: ${result.kind === 'grant' ? '' : result.kind}`)
  return ACTIONS.map((action) => effectOf(result.grant, splitAction(action), () => Date.parse('2025-01-01T00:00:00Z')))
}

function urlOf (template: string): string {
  return template.replace('{project_id}', PROJECT).replace('{snapshot_id}', 'snap-1').replace('{key}', 'k1')
}

// ---------------------------------------------------------------------------------------------
// Generators.

const service = fc.constantFrom('evs', 'ecs', '*', 'ev*', '*s', 'e*s', 'EVS', 'vpc')
const resource = fc.constantFrom('snapshots', 'SNAPSHOTS', 'Snapshots', 'snap*', '*shots', 'volumes', 'VOLUMES', 'vol*', '*', 's*s',
  '*a*', 'snapshot', 'cloudServers')
const operation = fc.constantFrom('get', 'Get*', 'GET', 'list', 'List*', '*', 'create', 'update', 'delete', 'rollback', 'roll*', '*et',
  'g*t', '*e', 'c*e*', 'get*', 'lis')
const pattern = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(service, resource, operation).map(([s, r, o]) => `${s}:${r}:${o}`) },
  { weight: 1, arbitrary: fc.constant('*') },
  { weight: 2, arbitrary: service.map((s) => `${s}:*`) }
)
const actionField = fc.oneof(pattern, fc.array(pattern, { minLength: 1, maxLength: 4 }))
function statementWith (effect: fc.Arbitrary<'Allow' | 'Deny'>): fc.Arbitrary<Statement> {
  return fc.record({ Effect: effect, Action: actionField })
}
const statement =
  statementWith(fc.oneof({ weight: 2, arbitrary: fc.constant('Allow' as const) }, { weight: 1, arbitrary: fc.constant('Deny' as const) }))
const policy: fc.Arbitrary<Policy> =
  fc.record({ Version: fc.constantFrom('1.1' as const, '1.0' as const), Statement: fc.array(statement, { maxLength: 5 }) })
const policies = fc.array(policy, { maxLength: 4 })

/** Puts `extra` somewhere: inside an existing policy at any position, or in a policy of its own. */
function insert (ps: readonly Policy[], extra: Statement, where: number, at: number): Policy[] {
  const target = where % (ps.length + 1)
  if (target === ps.length) return [...ps, { Version: '1.1', Statement: [extra] }]
  return ps.map((p, i) => (i === target ? { ...p, Statement: p.Statement.toSpliced(at % (p.Statement.length + 1), 0, extra) } : p))
}

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

/** Runs a property and reports its counterexample (with the seed to replay it) as a tap failure. */
function holds<T> (t: TapTest, property: fc.IProperty<T>, numRuns: number): void {
  const details = fc.check(property, { numRuns })
  if (details.failed) t.fail(`${fc.defaultReportMessage(details) ?? 'property failed'}\n${String(details.errorInstance)}`)
  else t.pass(`${numRuns} runs`)
}

// ---------------------------------------------------------------------------------------------

t.test('the effect of random policies on every action equals the naive reference evaluator', async (t) => {
  const seen = new Map<ActionEffect, number>()
  holds(t, fc.property(policies, (ps) => {
    const expected = ACTIONS.map((action) => referenceEffect(ps, action))
    for (const e of expected) seen.set(e, (seen.get(e) ?? 0) + 1)
    assert.deepEqual(effects(ps), expected)
  }), 3000)
  for (const e of ['allow', 'deny', 'none'] as const) t.ok((seen.get(e) ?? 0) > 100, `"${e}" expected often enough (${seen.get(e) ?? 0})`)
})

t.test('wildcard and case corner cases agree with the reference', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['evs:*:get*', 'evs:snapshots:get', true],
    ['evs:SNAPSHOTS:GET', 'evs:snapshots:get', true],
    ['EVS:snapshots:get', 'evs:snapshots:get', false],
    ['evs:snap*:*', 'evs:volumes:get', false],
    ['evs:*shots:list', 'evs:snapshots:list', true],
    ['*:*:Get*', 'evs:volumes:get', true],
    ['ecs:*', 'evs:snapshots:get', false],
    ['evs:*', 'evs:snapshots:rollback', true],
    ['*', 'vpc:ports:list', true],
    ['evs:snapshots:g*t', 'evs:snapshots:get', true],
    ['evs:snapshots:*et', 'evs:snapshots:delete', false]
  ]
  for (const [p, action, matches] of cases) {
    t.equal(patternMatches(p, action), matches, `reference: ${p} vs ${action}`)
    const result = readGrants({ policies: [{ Version: '1.1', Statement: [{ Effect: 'Allow', Action: [p] }] }] }, catalogue)
    t.ok(result.kind === 'grant')
    if (result.kind === 'grant') {
      t.equal(effectOf(result.grant, splitAction(action), Date.now), matches ? 'allow' : 'none', `evs-authz: ${p} vs ${action}`)
    }
  }
})

t.test('authorize() allows a route exactly when the reference allows every action it requires', async (t) => {
  const seen = new Map<string, number>()
  holds(t, fc.property(policies, (ps) => {
    for (const route of routes) {
      const effectsOfRoute = route.actions.map((action) => referenceEffect(ps, action))
      const missing = route.actions.filter((_, i) => effectsOfRoute[i] !== 'allow')
      const denied = route.actions.find((_, i) => effectsOfRoute[i] === 'deny')
      const decision = authorizer.authorize({ method: route.method, url: urlOf(route.template) }, claimsFor(ps))
      assert.ok(decision !== undefined, `${route.template} is guarded`)
      const reason = missing.length === 0 ? 'granted' : denied !== undefined ? 'explicit-deny' : 'missing-action'
      seen.set(reason, (seen.get(reason) ?? 0) + 1)
      assert.equal(decision.reason, reason, `${route.method} ${route.template}`)
      assert.equal(decision.kind === 'allow', missing.length === 0)
      assert.equal(decision.route?.index, route.index)
      assert.deepEqual([...decision.missing], missing)
      if (decision.kind === 'deny') {
        assert.equal(decision.status, 403)
        assert.equal(decision.action, denied ?? missing[0])
      }
    }
  }), 400)
  for (const reason of ['granted', 'explicit-deny', 'missing-action']) {
    t.ok((seen.get(reason) ?? 0) > 100, `"${reason}" decided often enough (${seen.get(reason) ?? 0})`)
  }
})

t.test('adding a Deny statement never turns a deny into an allow, nor lifts an explicit deny', async (t) => {
  let allowsLost = 0
  holds(t, fc.property(policies, statementWith(fc.constant('Deny')), fc.nat(), fc.nat(), (ps, deny, where, at) => {
    const before = effects(ps)
    const after = effects(insert(ps, deny, where, at))
    before.forEach((b, i) => {
      if (b !== 'allow') assert.notEqual(after[i], 'allow', `${ACTIONS[i] ?? ''} became allowed`)
      if (b === 'deny') assert.equal(after[i], 'deny', `${ACTIONS[i] ?? ''} lost its explicit deny`)
      if (b === 'allow' && after[i] !== 'allow') allowsLost++
    })
  }), 2000)
  t.ok(allowsLost > 100, `the added Deny did take allows away often enough (${allowsLost})`)
})

t.test('adding an Allow statement never turns an allow into a deny, nor lifts an explicit deny', async (t) => {
  let allowsGained = 0
  holds(t, fc.property(policies, statementWith(fc.constant('Allow')), fc.nat(), fc.nat(), (ps, allow, where, at) => {
    const before = effects(ps)
    const after = effects(insert(ps, allow, where, at))
    before.forEach((b, i) => {
      if (b === 'allow') assert.equal(after[i], 'allow', `${ACTIONS[i] ?? ''} lost its allow`)
      if (b === 'deny') assert.equal(after[i], 'deny', `an Allow lifted the explicit deny of ${ACTIONS[i] ?? ''}`)
      if (b === 'none' && after[i] === 'allow') allowsGained++
    })
  }), 2000)
  t.ok(allowsGained > 100, `the added Allow did grant new actions often enough (${allowsGained})`)
})

/** The same statements, reordered, then cut into policies at random points (one policy, or one per statement, or anything between). */
const rearranged = policies.chain((ps) => {
  const all = ps.flatMap((p) => p.Statement)
  return fc.tuple(
    fc.constant(ps),
    fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
    fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
    fc.constantFrom('1.1' as const, '1.0' as const)
  )
}).map(([ps, shuffled, cuts, version]) => {
  const regrouped: Policy[] = []
  shuffled.forEach((s, i) => {
    const last = regrouped.at(-1)
    if (last === undefined || cuts[i] === true) regrouped.push({ Version: version, Statement: [s] })
    else last.Statement.push(s)
  })
  return [ps, regrouped] as const
})

t.test('no effect depends on statement or policy order, or on how statements are split into policies', async (t) => {
  holds(t, fc.property(rearranged, ([original, regrouped]) => {
    const expected = effects(original)
    assert.deepEqual(effects(regrouped), expected)
    // The two extremes: everything in one policy, and one policy per statement, policies reversed.
    const all = original.flatMap((p) => p.Statement)
    assert.deepEqual(effects([{ Version: '1.1', Statement: all.toReversed() }]), expected)
    assert.deepEqual(effects(all.map((s): Policy => ({ Version: '1.0', Statement: [s] })).toReversed()), expected)
  }), 2000)
})

// ---------------------------------------------------------------------------------------------
// Conditions evs-authz does not understand: an Allow never applies, a Deny always does.

// Names from claims are data: Object.prototype's own names (`constructor`, `toString`, `__proto__`, ...) and
// arbitrary strings must be unknown operators and keys, never something inherited.
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), '__proto__']
const STRING_OPERATORS = ['StringEquals', 'StringEqualsIgnoreCase', 'StringStartWith', 'StringEndWith', 'StringMatch']
const KNOWN_OPERATORS = new Set([...STRING_OPERATORS, ...STRING_OPERATORS.map((o) => o.replace('String', 'StringNot')), 'Bool',
  'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'].flatMap((o) => [o, `${o}IfExists`]))
const KNOWN_KEYS = new Set(['g:userid', 'g:username', 'g:domainname', 'g:projectname', 'g:mfapresent', 'g:currenttime'])
const hostileName = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ maxLength: 16 }))
const unknownCondition = fc.oneof(
  // An operator evs-authz does not implement, on a key it knows.
  fc.tuple(fc.constantFrom('NumericEquals', 'NumericLessThan', 'IpAddress', 'StringLike', 'ForAnyValue:StringEquals', 'Null',
    'DateBefore', 'StringEqualsAnyCase'), fc.constantFrom('g:UserName', 'g:UserId', 'g:ProjectName')),
  fc.tuple(hostileName.filter((name) => !KNOWN_OPERATORS.has(name)), fc.constantFrom('g:UserName', 'g:UserId', 'g:ProjectName')),
  // A key it does not know, under an operator it implements.
  fc.tuple(fc.constantFrom('StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringMatch', 'Bool'),
    fc.constantFrom('g:SourceIp', 'evs:Encrypted', 'g:Foo', 'ecs:flavorId', 'g:UserNames')),
  fc.tuple(fc.constantFrom('StringEquals', 'StringNotEquals', 'StringMatch', 'Bool'),
    hostileName.filter((name) => !KNOWN_KEYS.has(name.toLowerCase())))
)
/** A condition evs-authz does understand, true or false for the caller (user_name alice). */
const knownCondition = fc.constantFrom<[string, string, string, boolean]>(
  ['StringEquals', 'g:UserName', USER, true],
  ['StringEquals', 'g:UserName', 'bob', false],
  ['StringNotEquals', 'g:UserName', 'bob', true],
  ['StringStartWith', 'g:UserName', 'ali', true],
  ['StringEqualsIgnoreCase', 'g:UserName', 'BOB', false]
)

function conditionOf (entries: ReadonlyArray<readonly [string, string, string]>): Conditions {
  // Null prototypes, so `__proto__` becomes an own key here, as JSON.parse makes it in a real claim.
  const condition = Object.create(null) as Conditions
  for (const [operator, key, value] of entries) (condition[operator] ??= Object.create(null) as Record<string, string[]>)[key] = [value]
  return condition
}

const uncertainStatement = (effect: 'Allow' | 'Deny'): fc.Arbitrary<Statement> =>
  fc.tuple(actionField, unknownCondition, fc.option(knownCondition, { nil: undefined }))
    .map(([Action, [operator, key], known]) => ({
      Effect: effect,
      Action,
      Condition: conditionOf(known === undefined ? [[operator, key, USER]] : [[operator, key, USER], [known[0], known[1], known[2]]])
    }))

t.test('an Allow statement with an unknown condition operator or key never grants', async (t) => {
  let wouldGrant = 0
  holds(t, fc.property(policies, uncertainStatement('Allow'), fc.nat(), fc.nat(), (ps, allow, where, at) => {
    const expected = ACTIONS.map((action) => referenceEffect(ps, action))
    wouldGrant += ACTIONS.filter((action, i) => expected[i] === 'none' && statementMatches(allow, action)).length
    assert.deepEqual(effects(insert(ps, allow, where, at)), expected)
  }), 1500)
  t.ok(wouldGrant > 100, `without its condition the Allow would often have granted (${wouldGrant})`)
})

t.test('a Deny statement with an unknown condition operator or key always denies the actions it names', async (t) => {
  let denials = 0
  holds(t, fc.property(policies, uncertainStatement('Deny'), fc.nat(), fc.nat(), (ps, deny, where, at) => {
    const expected = ACTIONS.map((action) => (statementMatches(deny, action) ? 'deny' : referenceEffect(ps, action)))
    denials += ACTIONS.filter((action, i) => expected[i] === 'deny' && referenceEffect(ps, action) !== 'deny').length
    assert.deepEqual(effects(insert(ps, deny, where, at)), expected)
  }), 1500)
  t.ok(denials > 100, `the uncertain Deny often denied what was not denied before (${denials})`)
})

t.test('control: a condition evs-authz understands applies the statement exactly when it holds', async (t) => {
  holds(t, fc.property(policies, statement, knownCondition, fc.nat(), fc.nat(),
    (ps, s, [operator, key, value, holdsForCaller], where, at) => {
      const conditional = { ...s, Condition: conditionOf([[operator, key, value]]) }
      const expected = ACTIONS.map((action) => referenceEffect(holdsForCaller ? insert(ps, s, where, at) : ps, action))
      assert.deepEqual(effects(insert(ps, conditional, where, at)), expected)
    }), 1000)
})

// ---------------------------------------------------------------------------------------------

const invalidPattern = fc.constantFrom('evs', 'evs:snapshots', 'evs:snapshots:get:extra', 'evs::get', '', 'evs:snapshots:',
  ':snapshots:get', 'evs:snap*')

t.test('a policy with a malformed action pattern grants nothing: every route is refused', async (t) => {
  holds(t, fc.property(policies, statement, invalidPattern, fc.nat(), fc.nat(), fc.constantFrom(...routes),
    (ps, s, bad, where, at, route) => {
      const broken = { ...s, Action: [...actionsOf(s), bad] }
      const decision = authorizer.authorize({ method: route.method, url: urlOf(route.template) }, claimsFor(insert(ps, broken, where, at)))
      assert.ok(decision !== undefined && decision.kind === 'deny')
      assert.equal(decision.reason, 'invalid-grants')
      assert.equal(decision.status, 403)
    }), 500)
})
