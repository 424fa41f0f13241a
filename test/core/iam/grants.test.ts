import t from 'tap'
import { splitAction } from '../../../src/core/iam/action-pattern.js'
import { compileCatalogue } from '../../../src/core/iam/catalogue.js'
import { effectOf, readGrants, type ActionEffect } from '../../../src/core/iam/grants.js'

const catalogue = compileCatalogue(undefined)
const NOW = Date.parse('2026-06-01T00:00:00Z')

function effect (claims: unknown, action: string, now = NOW): ActionEffect | string {
  const result = readGrants(claims, catalogue)
  if (result.kind !== 'grant') return result.kind
  return effectOf(result.grant, splitAction(action), () => now)
}

const allow = (Action: string[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ Effect: 'Allow', Action, ...extra })
const deny = (Action: string[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ Effect: 'Deny', Action, ...extra })
const policy = (...Statement: Array<Record<string, unknown>>): Record<string, unknown> => ({ Version: '1.1', Statement })

// [what, claims, action, expected effect]
const cases: Array<[string, unknown, string, ActionEffect | string]> = [
  ['actions list allows a listed action', { actions: ['evs:snapshots:get'] }, 'evs:snapshots:get', 'allow'],
  ['actions list is an allow list, not a deny list', { actions: ['evs:snapshots:get'] }, 'evs:snapshots:delete', 'none'],
  ['actions entries may use globs', { actions: ['evs:snapshots:*'] }, 'evs:snapshots:rollback', 'allow'],
  ['empty claims grant nothing', {}, 'evs:snapshots:get', 'none'],
  ['a Deny beats an Allow in the same policy', { policies: [policy(allow(['evs:*:*']), deny(['evs:snapshots:delete']))] },
    'evs:snapshots:delete', 'deny'],
  ['a Deny in one policy beats an Allow in another', { policies: [policy(allow(['*'])), policy(deny(['evs:*:delete']))] },
    'evs:snapshots:delete', 'deny'],
  ['a Deny beats the actions list', { actions: ['evs:snapshots:get'], policies: [policy(deny(['evs:snapshots:get']))] },
    'evs:snapshots:get', 'deny'],
  ['a Deny for another action changes nothing', { policies: [policy(allow(['*']), deny(['evs:snapshots:delete']))] },
    'evs:snapshots:get', 'allow'],
  ['Version 1.0 documents are understood',
    {
      policies: [{ Version: '1.0', Statement: [allow(['evs:*:*'])], Depends: [{ catalog: 'BASE', display_name: 'Server Administrator' }] }]
    }, 'evs:snapshots:get', 'allow'],
  ['a single Action string is one pattern', { policies: [policy({ Effect: 'Allow', Action: 'evs:snapshots:get' })] },
    'evs:snapshots:get', 'allow'],
  ['te_admin allows EVS', { roles: ['te_admin'] }, 'evs:snapshots:delete', 'allow'],
  ['te_admin denies identity', { roles: ['te_admin'] }, 'identity:users:list', 'deny'],
  ['Tenant Administrator by display name', { roles: ['Tenant Administrator'] }, 'evs:snapshots:rollback', 'allow'],
  ['readonly allows get', { roles: ['readonly'] }, 'evs:snapshots:get', 'allow'],
  ['readonly allows list', { roles: ['Tenant Guest'] }, 'evs:snapshots:list', 'allow'],
  ['readonly refuses create', { roles: ['readonly'] }, 'evs:snapshots:create', 'none'],
  ['EVS FullAccess allows rollback', { roles: ['EVS FullAccess'] }, 'evs:snapshots:rollback', 'allow'],
  ['EVS ReadOnlyAccess allows get', { roles: ['EVS ReadOnlyAccess'] }, 'evs:volumes:get', 'allow'],
  ['EVS ReadOnlyAccess refuses update', { roles: ['EVS ReadOnlyAccess'] }, 'evs:snapshots:update', 'none'],
  ['Server Administrator allows EVS', { roles: ['Server Administrator'] }, 'evs:snapshots:delete', 'allow'],
  ['server_adm allows EVS', { roles: ['server_adm'] }, 'evs:snapshots:create', 'allow'],
  ['unknown roles grant nothing', { roles: ['op_gated_foo', 'system_all_6'] }, 'evs:snapshots:get', 'none'],
  ['role names are exact', { roles: ['TE_ADMIN'] }, 'evs:snapshots:get', 'none'],
  ['Keystone token roles resolve', { token: { roles: [{ id: '0', name: 'te_admin' }] } }, 'evs:snapshots:delete', 'allow'],
  ['roles as { name } objects resolve', { roles: [{ name: 'readonly' }] }, 'evs:snapshots:get', 'allow'],
  // Conditions: known keys and operators decide; anything unknown never grants and always denies.
  ['StringEquals on g:UserName holds',
    {
      token: { user: { name: 'alice' } },
      policies: [policy(allow(['*'], { Condition: { StringEquals: { 'g:UserName': ['alice'] } } }))]
    }, 'evs:snapshots:get', 'allow'],
  ['StringEquals on g:UserName fails',
    {
      token: { user: { name: 'bob' } },
      policies: [policy(allow(['*'], { Condition: { StringEquals: { 'g:UserName': ['alice'] } } }))]
    }, 'evs:snapshots:get', 'none'],
  ['StringNotEquals',
    {
      token: { user: { name: 'bob' } },
      policies: [policy(allow(['*'], { Condition: { StringNotEquals: { 'g:UserName': ['alice'] } } }))]
    }, 'evs:snapshots:get', 'allow'],
  ['StringEqualsIgnoreCase',
    {
      token: { user: { name: 'ALICE' } },
      policies: [policy(allow(['*'], { Condition: { StringEqualsIgnoreCase: { 'g:UserName': 'alice' } } }))]
    }, 'evs:snapshots:get', 'allow'],
  ['StringStartWith on g:DomainName',
    {
      token: { user: { domain: { name: 'corp-eu' } } },
      policies: [policy(allow(['*'], { Condition: { StringStartWith: { 'g:DomainName': ['corp-'] } } }))]
    }, 'evs:snapshots:get', 'allow'],
  ['StringEndWith on g:ProjectName',
    {
      token: { project: { name: 'eu-west-0_dev' } },
      policies: [policy(allow(['*'], { Condition: { StringEndWith: { 'g:ProjectName': ['_prod'] } } }))]
    }, 'evs:snapshots:get', 'none'],
  ['StringMatch glob on g:UserId',
    { sub: 'u-123', policies: [policy(allow(['*'], { Condition: { StringMatch: { 'g:UserId': ['u-*'] } } }))] }, 'evs:snapshots:get',
    'allow'],
  ['Bool on g:MFAPresent',
    { mfa_present: true, policies: [policy(allow(['*'], { Condition: { Bool: { 'g:MFAPresent': ['true'] } } }))] },
    'evs:snapshots:get', 'allow'],
  ['a missing key never lets an Allow through',
    { policies: [policy(allow(['*'], { Condition: { StringEquals: { 'g:UserName': ['alice'] } } }))] }, 'evs:snapshots:get', 'none'],
  ['IfExists passes on a missing key',
    { policies: [policy(allow(['*'], { Condition: { StringEqualsIfExists: { 'g:UserName': ['alice'] } } }))] }, 'evs:snapshots:get',
    'allow'],
  ['a missing key never lifts a Deny',
    { actions: ['*'], policies: [policy(deny(['*'], { Condition: { Bool: { 'g:MFAPresent': ['false'] } } }))] }, 'evs:snapshots:get',
    'deny'],
  ['DateLessThan before the date',
    { policies: [policy(allow(['*'], { Condition: { DateLessThan: { 'g:CurrentTime': ['2027-01-01T00:00:00Z'] } } }))] },
    'evs:snapshots:get', 'allow'],
  ['DateGreaterThan before the date',
    { policies: [policy(allow(['*'], { Condition: { DateGreaterThan: { 'g:CurrentTime': ['2027-01-01T00:00:00Z'] } } }))] },
    'evs:snapshots:get', 'none'],
  ['unknown operator: Allow does not apply',
    { policies: [policy(allow(['*'], { Condition: { NumberEquals: { 'g:UserId': ['1'] } } }))] }, 'evs:snapshots:get', 'none'],
  ['unknown key: Allow does not apply',
    { sub: 'u', policies: [policy(allow(['*'], { Condition: { StringEquals: { 'evs:volumeType': ['SSD'] } } }))] },
    'evs:snapshots:get', 'none'],
  ['unknown operator: Deny applies',
    { actions: ['*'], policies: [policy(deny(['evs:*:*'], { Condition: { NumberEquals: { 'g:MFAAge': ['1'] } } }))] },
    'evs:snapshots:get', 'deny'],
  ['a narrowed Resource: Allow does not apply', { policies: [policy(allow(['*'], { Resource: ['evs:*:*:snapshot:abc'] }))] },
    'evs:snapshots:get', 'none'],
  ['a Resource of * is everything', { policies: [policy(allow(['*'], { Resource: ['*'] }))] }, 'evs:snapshots:get', 'allow'],
  ['a narrowed Resource: Deny still applies',
    { actions: ['*'], policies: [policy(deny(['*'], { Resource: 'evs:*:*:snapshot:abc' }))] }, 'evs:snapshots:get', 'deny'],
  // Malformed grants are refused as a whole (ignoring a bad Deny could turn a deny into an allow).
  ['non-array actions', { actions: 'evs:snapshots:get' }, 'evs:snapshots:get', 'invalid-grants'],
  ['a bad Effect', { policies: [policy({ Effect: 'Maybe', Action: ['*'] })] }, 'evs:snapshots:get', 'invalid-grants'],
  ['a bad Deny action', { actions: ['*'], policies: [policy({ Effect: 'Deny', Action: [5] })] }, 'evs:snapshots:get', 'invalid-grants'],
  ['an unknown statement element', { actions: ['*'], policies: [policy({ Effect: 'Deny', NotAction: ['evs:*:get'] })] },
    'evs:snapshots:delete', 'invalid-grants'],
  ['Version 5.0', { policies: [{ Version: '5.0', Statement: [allow(['*'])] }] }, 'evs:snapshots:get', 'invalid-grants'],
  ['policies not an array', { policies: policy(allow(['*'])) }, 'evs:snapshots:get', 'invalid-grants'],
  ['roles not an array', { roles: 'te_admin' }, 'evs:snapshots:get', 'invalid-grants'],
  ['a role that is not a name', { roles: [42] }, 'evs:snapshots:get', 'invalid-grants'],
  ['claims that are not an object', 'a-raw-token', 'evs:snapshots:get', 'invalid-grants'],
  ['no claims at all', undefined, 'evs:snapshots:get', 'no-credentials'],
  ['null claims', null, 'evs:snapshots:get', 'no-credentials']
]

for (const [what, claims, action, expected] of cases) {
  t.test(what, async (t) => {
    t.equal(effect(claims, action), expected)
  })
}

t.test('identity: flat claims and Keystone token bodies', async (t) => {
  const flat = readGrants({ project_id: 'p1', sub: 'u1' }, catalogue)
  const keystone = readGrants({ token: { project: { id: 'p2' }, user: { id: 'u2' } } }, catalogue)
  const userId = readGrants({ user_id: 'u3', project: { id: 'p3' } }, catalogue)
  t.same(flat.kind === 'grant' && [flat.grant.projectId, flat.grant.userId], ['p1', 'u1'])
  t.same(keystone.kind === 'grant' && [keystone.grant.projectId, keystone.grant.userId], ['p2', 'u2'])
  t.same(userId.kind === 'grant' && [userId.grant.projectId, userId.grant.userId], ['p3', 'u3'])
})

t.test('time conditions follow the clock on every evaluation', async (t) => {
  const claims = { policies: [policy(allow(['*'], { Condition: { DateLessThan: { 'g:CurrentTime': ['2027-01-01T00:00:00Z'] } } }))] }
  const result = readGrants(claims, catalogue)
  t.ok(result.kind === 'grant')
  if (result.kind !== 'grant') return
  const action = splitAction('evs:snapshots:get')
  t.equal(effectOf(result.grant, action, () => NOW), 'allow')
  t.equal(effectOf(result.grant, action, () => Date.parse('2027-06-01T00:00:00Z')), 'none')
})

t.test('the catalogue refuses bad user policies, listing every problem', async (t) => {
  const error =
    t.throws(() =>
      compileCatalogue({
        Mine: { Version: '1.1', Statement: [{ Effect: 'Permit', Action: ['evs:x'] }] }
      })) as Error & { code: string, problems: unknown[] }
  t.equal(error.code, 'EVS_AUTHZ_ERR_POLICY')
  t.equal(error.problems.length, 2)
  t.throws(() => compileCatalogue([]), { code: 'EVS_AUTHZ_ERR_POLICY' })
})

t.test('user catalogue entries add roles and replace built-in ones', async (t) => {
  const custom = compileCatalogue({
    'Snapshot Operator': [policy(allow(['evs:snapshots:*'])), policy(deny(['evs:snapshots:delete']))],
    readonly: policy(allow(['evs:snapshots:list']))
  })
  const check = (roles: string[], action: string): ActionEffect | string => {
    const result = readGrants({ roles }, custom)
    return result.kind === 'grant' ? effectOf(result.grant, splitAction(action), () => NOW) : result.kind
  }
  t.equal(check(['Snapshot Operator'], 'evs:snapshots:create'), 'allow')
  t.equal(check(['Snapshot Operator'], 'evs:snapshots:delete'), 'deny')
  t.equal(check(['readonly'], 'evs:snapshots:get'), 'none', 'the replaced readonly role no longer allows get')
  t.equal(check(['te_admin'], 'evs:snapshots:get'), 'allow', 'other built-in roles remain')
})
