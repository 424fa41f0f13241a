import t from 'tap'
import { compileActionPattern, splitAction } from '../../../src/core/iam/action-pattern.js'

// [pattern, action, matches]
const cases: Array<[string, string, boolean]> = [
  ['*', 'evs:snapshots:get', true],
  ['*', 'identity:users:list', true],
  ['evs:snapshots:get', 'evs:snapshots:get', true],
  ['evs:snapshots:get', 'evs:snapshots:list', false],
  ['evs:*:*', 'evs:snapshots:rollback', true],
  ['evs:*:*', 'ecs:servers:get', false],
  ['evs:*:get*', 'evs:snapshots:get', true],
  ['evs:*:get*', 'evs:volumes:get', true],
  ['evs:*:get*', 'evs:snapshots:list', false],
  ['evs:*:list*', 'evs:snapshots:list', true],
  ['*:*:Get*', 'evs:snapshots:get', true],
  ['*:*:List*', 'evs:snapshots:list', true],
  ['*:*:Get*', 'evs:snapshots:delete', false],
  ['identity:*', 'identity:users:list', true],
  ['identity:*', 'evs:snapshots:get', false],
  ['evs:*', 'evs:snapshots:delete', true],
  // Resource type and operation are case-insensitive; the service is not.
  ['evs:SNAPSHOTS:GET', 'evs:snapshots:get', true],
  ['evs:Snapshots:Get', 'evs:snapshots:get', true],
  ['EVS:snapshots:get', 'evs:snapshots:get', false],
  ['Evs:*:*', 'evs:snapshots:get', false],
  // Globs stay within their segment.
  ['evs:snap*:get', 'evs:snapshots:get', true],
  ['evs:*shots:get', 'evs:snapshots:get', true],
  ['evs:s*s:get', 'evs:snapshots:get', true],
  ['evs:s*x*s:get', 'evs:snapshots:get', false],
  ['evs:s*a*s:get', 'evs:snapshots:get', true],
  ['evs:snapshots:*', 'evs:volumes:get', false],
  ['ev*:snapshots:get', 'evs:snapshots:get', true],
  ['e.s:snapshots:get', 'evs:snapshots:get', false],
  ['evs:sn*pshots:get', 'evs:snapshots:get', true]
]

for (const [pattern, action, expected] of cases) {
  t.test(`${pattern} ${expected ? 'matches' : 'does not match'} ${action}`, async (t) => {
    const predicate = compileActionPattern(pattern)
    t.type(predicate, 'function')
    t.equal(predicate?.(splitAction(action)), expected)
  })
}

const invalid = ['', 'evs', 'evs:snapshots', 'evs:snapshots:get:extra', 'evs::get', 'evs:snap shots:get', 'evs:snapshots:get/x',
  5 as unknown as string]
for (const pattern of invalid) {
  t.test(`refuses the pattern ${JSON.stringify(pattern)}`, async (t) => {
    t.equal(compileActionPattern(pattern), undefined)
  })
}

t.test('? is a literal character, not a wildcard', async (t) => {
  t.equal(compileActionPattern('evs:sn?pshots:get')?.(splitAction('evs:snapshots:get')), false)
  t.equal(compileActionPattern('evs:*?:get')?.(splitAction('evs:snapshots:get')), false)
  t.equal(compileActionPattern('evs:*.?:get')?.(splitAction('evs:snapshots:get')), false)
})
