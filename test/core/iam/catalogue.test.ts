// The policy catalogue: the built-in system roles grant exactly what README's "Built-in catalogue roles"
// table says (read from the README, judged by an independent matcher), the `policies` option adds and
// replaces roles, hostile role names are data, and bad documents are refused with every problem listed.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { compileCatalogue, systemPolicies } from '../../../src/core/iam/catalogue.js'
import { createAuthorizer, type AuthorizerOptions } from '../../../src/core/authorizer.js'
import { ConfigurationError } from '../../../src/core/support/errors.js'
import type { RouteDefinition } from '../../../src/core/routing/route-table.js'
import type { IamPolicy } from '../../../src/core/iam/policy.js'

const P = '0123456789abcdef0123456789abcdef'

// Actions of several services, in several cases: what a role grants is probed through one route per action.
const PROBE_ACTIONS = [
  'evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:create', 'evs:snapshots:delete', 'evs:snapshots:update',
  'evs:snapshots:rollback', 'evs:volumes:get', 'evs:volumes:list', 'evs:Snapshots:Get', 'ecs:cloudServers:list',
  'ecs:servers:delete', 'vpc:vpcs:create', 'ims:images:get', 'identity:users:list', 'identity:projects:get',
  'obs:bucket:GetObject', 'obs:bucket:ListAllMyBuckets', 'rds:instance:create', 'kms:cmk:get'
] as const

const probeRoutes: readonly RouteDefinition[] = PROBE_ACTIONS.map((action, i) => ({
  method: 'GET',
  template: `/v2/{project_id}/probe-${i}`,
  actions: [action],
  enterpriseProject: false,
  family: 'evs',
  name: `probe ${action}`
}))

function authorizerWith (options: AuthorizerOptions = {}): ReturnType<typeof createAuthorizer> {
  return createAuthorizer({ routes: probeRoutes, ...options })
}

/** Which probe actions a token carrying these roles is allowed, through the public authorizer. */
function allowedActions (authorizer: ReturnType<typeof createAuthorizer>, roles: readonly unknown[]): string[] {
  return PROBE_ACTIONS.filter((_action, i) => authorizer.authorize({ method: 'GET', url: `/v2/${P}/probe-${i}` }, { project_id: P, roles })
    .reason === 'granted')
}

// --- the README's table, read as data -----------------------------------------------------------------------

interface DocumentedRole { readonly names: readonly string[], readonly allow: readonly string[], readonly deny: readonly string[] }

function documentedRoles (): DocumentedRole[] {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf('**Built-in catalogue roles**')
  if (start < 0) throw new Error('README has no "Built-in catalogue roles" table')
  const rows = readme.slice(start).split('\n').slice(1)
  const table: DocumentedRole[] = []
  for (const row of rows.slice(rows.findIndex((line) => line.startsWith('| ---')) + 1)) {
    if (!row.startsWith('|')) break
    const [names = '', policy = ''] = row.split('|').slice(1, 3)
    const codes = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '')
    const [allowPart = '', denyPart = ''] = policy.split(';')
    table.push({ names: codes(names), allow: codes(allowPart.replace(/^\s*Allow/, '')), deny: codes(denyPart.replace(/^\s*Deny/, '')) })
  }
  return table
}

/** README "Action patterns", implemented independently: service exact, resource and operation case-insensitive. */
function patternMatches (pattern: string, action: string): boolean {
  if (pattern === '*') return true
  const glob = (p: string, value: string, ignoreCase: boolean): boolean => {
    const [a, b] = ignoreCase ? [p.toLowerCase(), value.toLowerCase()] : [p, value]
    const pieces = a.split('*')
    if (pieces.length === 1) return a === b
    const first = pieces[0] ?? ''
    const last = pieces[pieces.length - 1] ?? ''
    if (!b.startsWith(first) || !b.endsWith(last) || b.length < first.length + last.length) return false
    let at = first.length
    for (const middle of pieces.slice(1, -1)) {
      const found = b.indexOf(middle, at)
      if (found < 0 || found + middle.length > b.length - last.length) return false
      at = found + middle.length
    }
    return true
  }
  const patternParts = pattern.split(':')
  const actionParts = action.split(':')
  if (patternParts.length === 2 && patternParts[1] === '*') return glob(patternParts[0] ?? '', actionParts[0] ?? '', false)
  if (patternParts.length !== 3) return false
  return glob(patternParts[0] ?? '', actionParts[0] ?? '', false) &&
    glob(patternParts[1] ?? '', actionParts[1] ?? '', true) && glob(patternParts[2] ?? '', actionParts[2] ?? '', true)
}

t.test('the README table names exactly the built-in roles', async (t) => {
  const table = documentedRoles()
  t.ok(table.length >= 5, 'the table was read')
  t.same(table.flatMap((row) => row.names).sort(), Object.keys(systemPolicies).sort())
})

t.test('each built-in role grants what the README table says, and nothing else', async (t) => {
  const authorizer = authorizerWith()
  for (const role of documentedRoles()) {
    const expected = PROBE_ACTIONS.filter((action) =>
      role.allow.some((p) => patternMatches(p, action)) && !role.deny.some((p) => patternMatches(p, action)))
    for (const name of role.names) t.same(allowedActions(authorizer, [name]), expected, name)
  }
})

t.test('the built-in policies are frozen all the way down: a caller cannot rewrite a system role', async (t) => {
  t.ok(Object.isFrozen(systemPolicies))
  t.throws(() => { (systemPolicies as Record<string, IamPolicy>)['te_admin'] = { Version: '1.1', Statement: [] } })
  // Not only the top: a role's statements, and each statement's action list, cannot be changed either.
  for (const [name, policy] of Object.entries(systemPolicies)) {
    t.ok(Object.isFrozen(policy) && Object.isFrozen(policy.Statement), `${name}: document and statements`)
    for (const statement of policy.Statement) t.ok(Object.isFrozen(statement) && Object.isFrozen(statement.Action), `${name}: statement`)
  }
  t.throws(() => { (systemPolicies['readonly']?.Statement as unknown[]).push({ Effect: 'Allow', Action: ['evs:*:*'] }) })
  t.same(allowedActions(authorizerWith(), ['te_admin']).includes('evs:snapshots:delete'), true)
})

// --- the policies option ------------------------------------------------------------------------------------

const allowDoc = (...actions: string[]): IamPolicy => ({ Version: '1.1', Statement: [{ Effect: 'Allow', Action: actions }] })
const denyDoc = (...actions: string[]): IamPolicy => ({ Version: '1.1', Statement: [{ Effect: 'Deny', Action: actions }] })

// [case, policies option, roles on the token, actions expected to be allowed]
const optionCases: Array<[string, AuthorizerOptions['policies'], string[], string[]]> = [
  ['an unknown role grants nothing', undefined, ['snap_ops'], []],
  ['a user role adds to the catalogue', { snap_ops: allowDoc('evs:snapshots:get', 'evs:snapshots:list') }, ['snap_ops'],
    ['evs:snapshots:get', 'evs:snapshots:list', 'evs:Snapshots:Get']],
  ['an array of documents is one role', { snap_ops: [allowDoc('evs:snapshots:*'), denyDoc('evs:snapshots:delete')] }, ['snap_ops'],
    ['evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:create', 'evs:snapshots:update', 'evs:snapshots:rollback',
      'evs:Snapshots:Get']],
  ['a user entry replaces the built-in role of that name', { 'EVS FullAccess': allowDoc('evs:snapshots:list') }, ['EVS FullAccess'],
    ['evs:snapshots:list']],
  ['replacing one name leaves its alias alone', { readonly: allowDoc('evs:snapshots:list') }, ['Tenant Guest'],
    ['evs:snapshots:get', 'evs:snapshots:list', 'evs:volumes:get', 'evs:volumes:list', 'evs:Snapshots:Get', 'ecs:cloudServers:list',
      'ims:images:get', 'obs:bucket:GetObject', 'obs:bucket:ListAllMyBuckets', 'kms:cmk:get']],
  ['the unofficial system_all_N names are mapped explicitly', { system_all_6: allowDoc('evs:*:*') }, ['system_all_6'],
    ['evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:create', 'evs:snapshots:delete', 'evs:snapshots:update',
      'evs:snapshots:rollback', 'evs:volumes:get', 'evs:volumes:list', 'evs:Snapshots:Get']],
  ['a user role Deny beats a built-in Allow across roles', { no_delete: denyDoc('evs:snapshots:delete') }, ['EVS FullAccess', 'no_delete'],
    ['evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:create', 'evs:snapshots:update', 'evs:snapshots:rollback',
      'evs:volumes:get', 'evs:volumes:list', 'evs:Snapshots:Get']],
  ['an empty policies object changes nothing', {}, ['EVS ReadOnlyAccess'],
    ['evs:snapshots:get', 'evs:snapshots:list', 'evs:volumes:get', 'evs:volumes:list', 'evs:Snapshots:Get']],
  ['role objects ({ name }) resolve like strings', { snap_ops: allowDoc('evs:snapshots:get') }, ['snap_ops'],
    ['evs:snapshots:get', 'evs:Snapshots:Get']]
]

t.test('the policies option adds and replaces roles by name', async (t) => {
  for (const [name, policies, roles, expected] of optionCases) {
    const authorizer = authorizerWith(policies === undefined ? {} : { policies })
    t.same(allowedActions(authorizer, roles), expected, name)
    t.same(allowedActions(authorizer, roles.map((role) => ({ name: role }))), expected, `${name} (role objects)`)
  }
})

t.test('a denial names the unknown role it met', async (t) => {
  const decision = authorizerWith().authorize({ method: 'GET', url: `/v2/${P}/probe-0` }, { project_id: P, roles: ['snap_ops'] })
  t.equal(decision.reason, 'missing-action')
  t.match(decision.detail, /unknown role "snap_ops" granted nothing/)
})

// --- hostile role names ---------------------------------------------------------------------------------------

const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__',
  'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__lookupGetter__', '']

t.test('role names inherited from Object.prototype are unknown roles, not lookups', async (t) => {
  const authorizer = authorizerWith()
  for (const name of HOSTILE_NAMES) t.same(allowedActions(authorizer, [name]), [], JSON.stringify(name))
})

t.test('hostile names defined in the policies option are ordinary roles and pollute nothing', async (t) => {
  for (const name of HOSTILE_NAMES) {
    // JSON.parse makes an own "__proto__" key, as a configuration file would.
    const policies = JSON.parse(`{${JSON.stringify(name)}:${JSON.stringify(allowDoc('evs:snapshots:get'))}}`) as Record<string, IamPolicy>
    t.ok(Object.hasOwn(policies, name), `${JSON.stringify(name)} is an own key of the option`)
    const authorizer = authorizerWith({ policies })
    t.same(allowedActions(authorizer, [name]), ['evs:snapshots:get', 'evs:Snapshots:Get'], JSON.stringify(name))
    t.same(allowedActions(authorizer, ['EVS ReadOnlyAccess']), allowedActions(authorizerWith(), ['EVS ReadOnlyAccess']),
      `${JSON.stringify(name)} leaves the built-in roles alone`)
    t.equal(Reflect.get({}, 'evs:snapshots:get'), undefined, 'Object.prototype is untouched')
  }
})

t.test('property: any role name grants exactly what the option gives it, whatever its spelling', async (t) => {
  const builtIn = new Set(Object.keys(systemPolicies))
  const roleName = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...HOSTILE_NAMES), fc.string({ unit: 'binary', maxLength: 20 }))
    .filter((name) => !builtIn.has(name))
  fc.assert(fc.property(roleName, fc.boolean(), (name, defined) => {
    const policies: Record<string, IamPolicy> = Object.create(null) as Record<string, IamPolicy>
    if (defined) Object.defineProperty(policies, name, { value: allowDoc('evs:volumes:*'), enumerable: true })
    const allowed = allowedActions(authorizerWith({ policies }), [name])
    return JSON.stringify(allowed) === JSON.stringify(defined ? ['evs:volumes:get', 'evs:volumes:list'] : [])
  }), { numRuns: 150 })
  t.pass('held for every generated name')
})

// --- invalid documents ------------------------------------------------------------------------------------------

// [case, policies option, every `at` the error must list]
const invalidCases: Array<[string, unknown, string[]]> = [
  ['a number', 42, ['policies']],
  ['null', null, ['policies']],
  ['an array instead of a map', [allowDoc('evs:*:*')], ['policies']],
  ['a document that is not an object', { r: 'allow everything' }, ['policies["r"]']],
  ['a bad version and a bad effect', { r: { Version: '2012-10-17', Statement: [{ Effect: 'Permit', Action: ['evs:*:*'] }] } },
    ['policies["r"].Version', 'policies["r"].Statement[0].Effect']],
  ['Statement not an array', { r: { Version: '1.1', Statement: { Effect: 'Allow', Action: ['*'] } } }, ['policies["r"].Statement']],
  ['a non-pattern action', { r: allowDoc('evs:snapshots') }, ['policies["r"].Statement[0].Action']],
  ['an empty action list', { r: { Version: '1.1', Statement: [{ Effect: 'Allow', Action: [] }] } }, ['policies["r"].Statement[0].Action']],
  ['an unknown statement element', { r: { Version: '1.1', Statement: [{ Effect: 'Deny', NotAction: ['evs:*:*'] }] } },
    ['policies["r"].Statement[0].<element 1>', 'policies["r"].Statement[0].Action']],
  ['problems in several roles and documents are all listed',
    `{"a":{"Version":"3","Statement":[]},"b":[${JSON.stringify(allowDoc('evs:*:*'))},{"Version":"1.1","Statement":["x"]}],"__proto__":7}`,
    ['policies["a"].Version', 'policies["b"][1].Statement[0]', 'policies["__proto__"]']]
]

t.test('invalid policy documents are configuration errors that list every problem', async (t) => {
  for (const [name, policies, expectedAt] of invalidCases) {
    // JSON text where an own "__proto__" key matters (an object literal would set the prototype instead).
    const option = typeof policies === 'string' && policies.startsWith('{') ? JSON.parse(policies) as unknown : policies
    const error = t.throws(() => createAuthorizer({ policies: option as NonNullable<AuthorizerOptions['policies']> }), name)
    if (!(error instanceof ConfigurationError)) {
      t.fail(`${name}: expected a ConfigurationError`)
      continue
    }
    t.equal(error.code, 'EVS_AUTHZ_ERR_POLICY', name)
    t.same(error.problems.map((p) => p.at), expectedAt, `${name}: every problem, where it is`)
    for (const at of expectedAt) t.ok(error.message.includes(at), `${name}: the message names ${at}`)
  }
})

t.test('a string instead of a map is refused, the type problem first', async (t) => {
  // The string is also spread into one-character "entries", each reported: noise after the real problem.
  const error = t.throws(() => createAuthorizer({ policies: 'te_admin' as unknown as NonNullable<AuthorizerOptions['policies']> }))
  t.match(error, { code: 'EVS_AUTHZ_ERR_POLICY' })
  t.match((error as ConfigurationError).problems[0], { at: 'policies', message: /should be an object mapping role names/ })
})

t.test('compileCatalogue without extras holds the built-in roles, each compiled once', async (t) => {
  const catalogue = compileCatalogue(undefined)
  t.same([...catalogue.keys()].sort(), Object.keys(systemPolicies).sort())
  t.equal(catalogue.get('te_admin'), catalogue.get('te_admin'), 'stable entries')
  for (const [name, statements] of catalogue) t.ok(Object.isFrozen(statements), `${name}: frozen statements`)
  t.equal(catalogue.get('__proto__'), undefined)
})
