// deepFreeze, and the exported data it protects: no code in the process can change the built-in route table or
// Keystone's default roles, so an authorizer built later enforces what the package ships.
import t from 'tap'
import fc from 'fast-check'
import { deepFreeze } from '../../../src/core/support/frozen.js'
import { createAuthorizer, keystoneDefaultRoles, snapshotRoutes } from '../../../src/index.js'

const P = '0123456789abcdef0123456789abcdef'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

/** Every plain object and array reachable from `value`, itself included. */
function plainParts (value: unknown, found: unknown[] = []): unknown[] {
  if (typeof value !== 'object' || value === null || found.includes(value)) return found
  const prototype: unknown = Object.getPrototypeOf(value)
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return found
  found.push(value)
  for (const child of Object.values(value)) plainParts(child, found)
  return found
}

t.test('deepFreeze freezes every plain object and array inside, and returns its argument', async (t) => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    const parts = plainParts(value)
    return deepFreeze(value) === value && parts.every((part) => Object.isFrozen(part))
  }))
  t.pass('every generated JSON value was frozen throughout')
})

t.test('deepFreeze leaves other objects alone (a frozen global RegExp throws on lastIndex); shared, cyclic parts are fine', async (t) => {
  const pattern = /^[a-z]+$/g
  const shared = { actions: ['a:b:c'] }
  const cyclic: Record<string, unknown> = { shared, again: shared, pattern, map: new Map([['k', 'v']]) }
  cyclic['self'] = cyclic
  deepFreeze(cyclic)
  t.ok(Object.isFrozen(cyclic) && Object.isFrozen(shared) && Object.isFrozen(shared.actions))
  t.notOk(Object.isFrozen(pattern), 'the RegExp is not frozen')
  t.ok(pattern.test('abc'), 'and still works with its g flag')
  t.notOk(Object.isFrozen(cyclic['map']), 'a Map is not a plain object')
  t.equal(deepFreeze(undefined), undefined)
  t.equal(deepFreeze('text'), 'text')
})

// Changes hostile or careless code might try on the exports, each of which would have widened a later authorizer.
const attempts: Array<{ name: string, change: () => void }> = [
  { name: 'drop an action from a row', change: () => { (snapshotRoutes[9]?.actions as string[]).length = 1 } },
  { name: 'replace a row\'s actions', change: () => { (snapshotRoutes[9] as { actions: unknown }).actions = [] } },
  { name: 'replace a row', change: () => { (snapshotRoutes as unknown as unknown[])[9] = snapshotRoutes[7] } },
  { name: 'add an Allow to reader', change: () => { (keystoneDefaultRoles['reader']?.Statement as unknown[]).push({ Effect: 'Allow' }) } },
  { name: 'widen reader\'s actions', change: () => { (keystoneDefaultRoles['reader']?.Statement[0]?.Action as string[]).push('*') } },
  { name: 'replace a role', change: () => { (keystoneDefaultRoles as Record<string, unknown>)['reader'] = keystoneDefaultRoles['admin'] } }
]

t.test('the built-in table and the default roles refuse every change (ES modules are strict: a TypeError)', async (t) => {
  t.equal(snapshotRoutes[9]?.template, '/v2/{project_id}/snapshots/{snapshot_id}', 'row 9 is the Cinder delete')
  t.equal(snapshotRoutes[9]?.method, 'DELETE')
  for (const { name, change } of attempts) t.throws(change, TypeError, name)
  // What an authorizer built after the attempts enforces: the shipped rows and roles.
  const authorizer = createAuthorizer({ policies: { ...keystoneDefaultRoles } })
  const reader = { project_id: P, roles: ['reader'] }
  const remove = { method: 'DELETE', url: `/v2/${P}/snapshots/${S}` }
  const deletion = authorizer.authorize(remove, { project_id: P, actions: ['evs:snapshots:delete'] })
  t.same(deletion.missing, ['evs:snapshots:get', 'evs:volumes:get'], 'the delete row still requires all three actions')
  t.equal(authorizer.authorize(remove, reader).reason, 'missing-action', 'reader may not delete')
  t.equal(authorizer.authorize({ method: 'GET', url: `/v2/${P}/snapshots/${S}` }, reader).reason, 'granted', 'reader may read')
})
