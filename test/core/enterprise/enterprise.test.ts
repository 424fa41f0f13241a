// The enterprise-project stage on its own (src/core/enterprise/): which EPs a request touches (query, path,
// body) and the decision once they are known, driven through the authorizer's own steps (decide →
// enterpriseTargets → answer) without any adapter or I/O. The adapters' resolution flow has test/enterprise.test.ts.
import t from 'tap'
import fc from 'fast-check'
import { createAuthorizer, type Authorizer } from '../../../src/core/authorizer.js'
import type { Decision } from '../../../src/core/decision/decision.js'
import type {
  BodyReading, EnterpriseProjectQuestion, EnterpriseProjectResolution, ReadyTargets
} from '../../../src/core/enterprise/enterprise.js'

const P = '0123456789abcdef0123456789abcdef'
const SNAP = '2bf5d7a4-34a1-4d7c-9f7c-1d3f0e9b0b01'
const VOL = '6c1e0f6a-9d8b-4a57-b3a8-6e5f0d1c2b3a'
const authorizer = createAuthorizer()
const JSON_HEADERS = { 'content-type': 'application/json' }

/** Claims with EP-scoped grants only (no project-wide action). */
function epClaims (grants: Record<string, string[]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const enterpriseProjects = Object.entries(grants).map(([id, actions]) => ({ id, actions }))
  return { project_id: P, sub: 'u-ep', enterprise_projects: enterpriseProjects, ...extra }
}

function question (a: Authorizer, method: string, url: string, claims: unknown): EnterpriseProjectQuestion | Decision {
  const inspection = a.inspect({ method, url, headers: JSON_HEADERS })
  if (inspection.kind !== 'pending') throw new Error(`expected a pending inspection for ${method} ${url}`)
  return a.decide(inspection, claims)
}

function askedQuestion (t: { equal: (a: unknown, b: unknown, m: string) => unknown }, method: string, url: string,
  claims: unknown): EnterpriseProjectQuestion | undefined {
  const result = question(authorizer, method, url, claims)
  t.equal(result.kind, 'enterprise-project', `${method} ${url} asks which EPs it touches`)
  return result.kind === 'enterprise-project' ? result : undefined
}

const found = (targets: ReadyTargets, ids: readonly string[], cached = false): EnterpriseProjectResolution[] =>
  targets.lookups.map((lookup, i) => ({ kind: 'found', lookup, id: ids[i] ?? '', cached }))

t.test('only EP-capable rows ask, and only when project-wide grants do not already decide', async (t) => {
  const cases: Array<[string, string, unknown, string]> = [
    ['GET', `/v2/${P}/cloudsnapshots/detail`, epClaims({ ep1: ['evs:snapshots:list'] }), 'enterprise-project'],
    ['GET', `/v2/${P}/cloudsnapshots/detail`, epClaims({ ep1: ['evs:snapshots:list'] }, { actions: ['evs:snapshots:list'] }), 'allow'],
    // A Cinder row never takes EP grants: the denial says so instead of asking.
    ['GET', `/v2/${P}/snapshots/detail`, epClaims({ ep1: ['evs:snapshots:list'] }), 'deny'],
    // A project-wide Deny cannot be lifted by an EP grant: no question.
    ['GET', `/v2/${P}/cloudsnapshots/detail`, epClaims({ ep1: ['evs:snapshots:list'] }, {
      policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:snapshots:list'] }] }]
    }), 'deny']
  ]
  for (const [method, url, claims, kind] of cases) {
    t.equal(question(authorizer, method, url, claims).kind, kind, `${method} ${url}`)
  }
  const cinder = question(authorizer, 'GET', `/v2/${P}/snapshots/detail`, epClaims({ ep1: ['evs:snapshots:list'] }))
  t.equal(cinder.kind === 'deny' && cinder.reason, 'enterprise-project-unsupported')
})

t.test('the targets: query-named EPs, path and body lookups, or why there are none', async (t) => {
  const claims = epClaims({ ep1: ['evs:snapshots:*', 'evs:volumes:get'] })
  const list = `/v2/${P}/cloudsnapshots/detail`
  const create = `/v2/${P}/cloudsnapshots`
  const json = (value: unknown): BodyReading => ({ kind: 'json', value })
  const snapshotLookup = { kind: 'snapshot', id: SNAP, from: 'path' }
  const volumeLookup = { kind: 'volume', id: VOL, from: 'body' }
  // [what, method, url, body, the targets or the denial's reason]
  const cases: Array<[string, string, string, BodyReading | undefined, unknown]> = [
    ['a list names its EP', 'GET', `${list}?enterprise_project_id=ep1`, undefined, { named: ['ep1'], lookups: [] }],
    ['the name is read as the backend reads it', 'GET', `${list}?enterprise%5Fproject%5Fid=ep1`, undefined,
      { named: ['ep1'], lookups: [] }],
    ['a list without an EP', 'GET', `${list}?limit=5`, undefined, 'enterprise-project-required'],
    ['two EPs (the backend reads the last)', 'GET', `${list}?enterprise_project_id=ep1&enterprise_project_id=ep2`, undefined,
      'malformed-query'],
    ['one snapshot: its EP is looked up', 'GET', `${create}/${SNAP}`, undefined, { named: undefined, lookups: [snapshotLookup] }],
    ['create: the volume in the body', 'POST', create, json({ snapshot: { volume_id: VOL } }),
      { named: undefined, lookups: [volumeLookup] }],
    ['create without a volume id', 'POST', create, json({ snapshot: {} }), 'malformed-body'],
    // The id goes into a lookup URL: only id-shaped values.
    ['a volume id that is not id-shaped', 'POST', create, json({ snapshot: { volume_id: '../../admin' } }), 'malformed-body'],
    ['an inherited volume id', 'POST', create, json({ snapshot: Object.create({ volume_id: VOL }) as object }), 'malformed-body'],
    ['a body the adapter could not read', 'POST', create, { kind: 'problem', problem: 'the body is not valid JSON' }, 'malformed-body'],
    ['rollback: the snapshot in the path, the volume in the body', 'POST', `${create}/${SNAP}/rollback`,
      json({ rollback: { volume_id: VOL } }), { named: undefined, lookups: [snapshotLookup, volumeLookup] }]
  ]
  for (const [what, method, url, body, expected] of cases) {
    const asked = askedQuestion(t, method, url, claims)
    if (asked === undefined) continue
    const targets = authorizer.enterpriseTargets(asked, body)
    if (typeof expected === 'string') {
      t.equal(targets.kind === 'deny' && targets.reason, expected, what)
      t.equal(targets.kind === 'deny' && targets.route?.name, asked.route.name, `${what}: the denial names the row`)
    } else {
      t.same(targets.kind === 'targets' ? { named: targets.named, lookups: targets.lookups } : targets, expected, what)
    }
  }
})

t.test('the answer: every action in every touched EP, facts about where each EP came from', async (t) => {
  const claims = epClaims({ ep1: ['evs:snapshots:get'], ep2: ['evs:snapshots:list'] }, {
    enterprise_projects: [
      { id: 'ep1', actions: ['evs:snapshots:get', 'evs:snapshots:rollback'] },
      {
        id: 'ep2',
        actions: ['evs:snapshots:list'],
        policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:snapshots:get'] }] }]
      }
    ]
  })
  const show = askedQuestion(t, 'GET', `/v2/${P}/cloudsnapshots/${SNAP}`, claims)
  if (show === undefined) return
  const targets = authorizer.enterpriseTargets(show, undefined)
  if (targets.kind !== 'targets') {
    t.fail('expected targets')
    return
  }
  const fromResolver = [{ id: 'ep1', source: 'resolver', from: 'path' }]
  const fromCache = [{ id: 'ep1', source: 'cache', from: 'path' }]
  const unknown = targets.lookups.map((lookup) => ({ kind: 'unknown' as const, lookup, detail: 'no such snapshot' }))
  const failed = targets.lookups.map((lookup) => ({ kind: 'failed' as const, lookup, detail: 'timed out' }))
  const answers: Array<[string, EnterpriseProjectResolution[], Record<string, unknown>]> = [
    ['found in a granted EP', found(targets, ['ep1']), { kind: 'allow', reason: 'granted', enterpriseProjects: fromResolver }],
    ['found in the cache', found(targets, ['ep1'], true), { kind: 'allow', enterpriseProjects: fromCache }],
    ['found in an EP the caller is not granted', found(targets, ['ep9']),
      { kind: 'deny', reason: 'missing-action', missing: ['evs:snapshots:get'] }],
    ['found in an EP that denies the action', found(targets, ['ep2']),
      { kind: 'deny', reason: 'explicit-deny', action: 'evs:snapshots:get' }],
    ['no EP found', unknown, { kind: 'deny', reason: 'enterprise-project-unresolved', status: 403 }],
    ['the lookup failed', failed, { kind: 'deny', reason: 'enterprise-project-error', status: 500 }]
  ]
  for (const [what, resolutions, expected] of answers) t.match(authorizer.answer(show, targets, resolutions), expected, what)
  const notGranted = authorizer.answer(show, targets, found(targets, ['ep9']))
  t.match(notGranted, { detail: /ep9 \(not granted to the caller\)/ }, 'the detail names the EP')
})

t.test('all_granted_eps passes only on project-wide grants: an EP grant cannot vouch for every EP', async (t) => {
  const url = `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=ALL_GRANTED_EPS`
  const asked = askedQuestion(t, 'GET', url, epClaims({ ep1: ['evs:snapshots:list'] }))
  if (asked === undefined) return
  const targets = authorizer.enterpriseTargets(asked, undefined)
  const answered = targets.kind === 'targets' ? authorizer.answer(asked, targets, []) : targets
  t.match(answered, { kind: 'deny', reason: 'enterprise-project-required' })
  t.match(authorizer.authorize({ method: 'GET', url }, { project_id: P, actions: ['evs:snapshots:list'] }),
    { kind: 'allow', reason: 'granted' })
})

t.test('the synchronous authorize() answers EP questions only where no I/O is needed', async (t) => {
  const claims = epClaims({ ep1: ['evs:snapshots:*', 'evs:volumes:get'] })
  const cases: Array<[string, string, string]> = [
    ['GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=ep1`, 'granted'],
    ['GET', `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=ep2`, 'missing-action'],
    ['GET', `/v2/${P}/cloudsnapshots/${SNAP}`, 'enterprise-project-unresolved'],
    ['POST', `/v2/${P}/cloudsnapshots`, 'enterprise-project-unresolved']
  ]
  for (const [method, url, reason] of cases) {
    t.equal(authorizer.authorize({ method, url, headers: JSON_HEADERS }, claims).reason, reason, `${method} ${url}`)
  }
})

t.test('property: a named EP is allowed exactly when that EP\'s grants allow the list', async (t) => {
  const ids = ['ep1', 'ep2', 'ep3']
  const grants = fc.dictionary(fc.constantFrom(...ids), fc.subarray(['evs:snapshots:list', 'evs:snapshots:get', 'evs:*:*']), { minKeys: 1 })
  fc.assert(fc.property(grants, fc.constantFrom(...ids), (granted, named) => {
    const claims = epClaims(granted)
    const expected = (granted[named] ?? []).some((a) => a === 'evs:snapshots:list' || a === 'evs:*:*')
    const url = `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=${named}`
    const decision = authorizer.authorize({ method: 'GET', url }, claims)
    const why = expected ? decision.enterpriseProjects[0]?.id === named : decision.reason === 'missing-action'
    return (decision.kind === 'allow') === expected && why
  }), { numRuns: 300 })
  t.pass('300 generated grant sets')
})
