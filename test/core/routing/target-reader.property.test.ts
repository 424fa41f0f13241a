// The fast path (src/core/routing/target-reader.ts: PathGate.plainEnd + Matcher.matchPlain) against the slow
// one it short-cuts (the gate's full reading, then the tree walk): for every generated target, hostile ones
// included, both must give the same answer; and plainly canonical targets must actually take the fast path.
import * as assert from 'node:assert/strict'
import t from 'tap'
import fc from 'fast-check'
import { compileMatcher, type Matcher } from '../../../src/core/routing/matcher.js'
import { compileTargetReader } from '../../../src/core/routing/target-reader.js'
import { DEFAULT_VERSIONS, compilePathGate, type PathGate } from '../../../src/core/request/path-gate.js'
import { loadRouteTable, type CompiledRoute, type RouteDefinition } from '../../../src/core/routing/route-table.js'
import { snapshotRoutes } from '../../../src/routes/snapshots.js'

interface Setup {
  readonly name: string
  readonly prefix: string
  readonly routes: readonly CompiledRoute[]
  readonly gate: PathGate
  readonly matcher: Matcher
  readonly matchPlain: ReturnType<typeof compileTargetReader>
}

function setup (name: string, prefix: string, rows: readonly RouteDefinition[], projectIdPattern?: RegExp): Setup {
  const routes = loadRouteTable(rows, projectIdPattern === undefined ? {} : { projectIdPattern })
  const matcher = compileMatcher(routes)
  // As the authorizer compiles it: v2, v3 and the first segment of every template.
  const firstSegments = routes.flatMap((r) => (r.segments[0]?.kind === 'static' ? [r.segments[0].value] : []))
  const gate = compilePathGate(prefix, [...DEFAULT_VERSIONS, ...firstSegments])
  return { name, prefix, routes, gate, matcher, matchPlain: compileTargetReader(gate, matcher, prefix.length) }
}

/** More than eight static children under one node: the matcher uses a Map there. */
function wideRows (): RouteDefinition[] {
  const rows: RouteDefinition[] = [...snapshotRoutes]
  for (let i = 0; i < 12; i++) {
    rows.push({
      method: 'GET',
      template: `/v2/{project_id}/things-${i}/{thing_id}`,
      actions: ['evs:snapshots:get'],
      enterpriseProject: false,
      family: 'cinder',
      name: `wide ${i}`
    })
  }
  return rows
}

/** Parameters whose constraints take every branch of the constraint reading (character table or the regex itself). */
function oddRows (): RouteDefinition[] {
  const row = (template: string, params: NonNullable<RouteDefinition['params']>): RouteDefinition =>
    ({ method: 'GET', template, actions: ['evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: template, params })
  return [
    ...snapshotRoutes,
    row('/v2/{project_id}/exact/{code}', { code: { pattern: /^[A-Z]{3}$/ } }),
    row('/v2/{project_id}/between/{code}', { code: { pattern: /^[a-z0-9.]{2,5}$/ } }),
    row('/v2/{project_id}/open/{code}', { code: { pattern: /^[a-z:@]{2,}$/i } }),
    row('/v2/{project_id}/star/{code}', { code: { pattern: /^[!$&'()*+,=~-]*$/ } }),
    row('/v2/{project_id}/multiline/{code}', { code: { pattern: /^[a-z]+$/mu } }),
    row('/v2/{project_id}/alternation/{code}', { code: { pattern: /^(?:ab|cd)+$/ } }),
    // A RegExp that says one class and tests another (an own `source`) is refused at registration
    // (test/core/routing/regex-safety.test.ts); the fast path would not believe its source either.
    row('/v2/{project_id}/short/{code}', { code: { pattern: /^[a-z]+$/, maxLength: 4 } }),
    // A static label beside a parameter, at a node with no row of its own: a near miss of `inner` is a {code}.
    row('/v2/{project_id}/branch/{code}', { code: { pattern: /^[a-z]+$/ } }),
    row('/v2/{project_id}/branch/inner/deep', {})
  ]
}

/** A static label beside {project_id} (which the default pattern takes in lower case only): `Info` is rejected, not ambiguous. */
function besideProjectRows (): RouteDefinition[] {
  const row = (template: string): RouteDefinition =>
    ({ method: 'GET', template, actions: ['evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: template })
  return [row('/v3/{project_id}/x'), row('/v3/info'), row('/v3/{project_id}/things/{thing_id}'), row('/v3/{project_id}/things/inner')]
}

const SETUPS: readonly Setup[] = [
  setup('built-in table', '', snapshotRoutes),
  setup('built-in table under /evs', '/evs', snapshotRoutes),
  setup('32-hex project ids', '', snapshotRoutes, /^[0-9a-f]{32}$/),
  setup('wide node', '', wideRows()),
  setup('odd constraints', '/a.b/c', oddRows()),
  setup('static beside a parameter', '', besideProjectRows())
]

const PROJECT = '0123456789abcdef0123456789abcdef'
const SNAPSHOT = '2bf5d7a4-34a1-4d7c-9f7c-1d3f0e9b0b01'
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'get'] as const

// Pieces a hostile target is built from: the table's own words, near misses, escapes, separators, Unicode.
const WORDS = [
  'v2', 'v3', 'V2', 'v1', 'v22', 'snapshots', 'Snapshots', 'cloudsnapshots', 'detail', 'DETAIL', 'Detail', 'metadata', 'rollback',
  'os-vendor-snapshots', 'volumes', 'things-3', 'exact', 'between', 'open', 'star', 'multiline', 'alternation', 'short', 'spoofed',
  'xx', 'ABC', 'abcd', 'branch', 'inner', 'deep',
  // Near misses the fast path's walk cannot tell from the label by length, first and last character alone.
  'snapshOts', 'dEtail', 'metaData', 'innxr', 'cloudsnapsHots', 'rollbaCk',
  // A label in another case (first or last character too): a parameter's class may reject it before it is ambiguous.
  'info', 'Info', 'infO', 'INFO', 'Inner', 'inneR', 'things',
  'ab.cd', 'a:b@c', '!$&', PROJECT, PROJECT.toUpperCase(), SNAPSHOT, 'env', 'k1.json', 'x'.repeat(256), 'evs', 'a.b', 'c'
]
const PIECES = [
  '/', '//', '/.', '/..', '.', '..', '?', '#', '%', '%2e', '%2F', '%41', '%c3%a9', ';',
  '\\', ' ', '\t', 'é', 'ｖ２', 'ſ', '\u0000', '+', '~', '*'
]

const piece = fc.oneof(fc.constantFrom(...WORDS), fc.constantFrom(...PIECES), fc.string({ maxLength: 3 }))
/** Anything: pieces joined with and without slashes, sometimes under the prefix, sometimes with a query. */
const hostileTarget = (prefix: string): fc.Arbitrary<string> => fc.tuple(
  fc.constantFrom('', prefix, prefix.toUpperCase(), `${prefix}/`, 'http://h'),
  fc.array(fc.tuple(fc.constantFrom('/', '', '/', '/'), piece), { maxLength: 7 }),
  fc.option(fc.tuple(fc.constantFrom('?', '#', '?a=1#b'), fc.constantFrom('', 'limit=1', 'x=/v2/..', '%zz')), { nil: undefined })
).map(([head, parts, tail]) => head + parts.map(([sep, p]) => sep + p).join('') + (tail === undefined ? '' : tail[0] + tail[1]))

/** A concrete target for a template: parameter values that the constraints accept, or near misses. */
const valueFor = (name: string): fc.Arbitrary<string> => {
  if (name === 'project_id') return fc.constantFrom(PROJECT, 'abc-123', PROJECT.toUpperCase(), 'a', 'info', 'Info', 'INFO', 'infO')
  if (name === 'key') return fc.constantFrom('env', 'k1', 'k1.json', 'a b', 'a:b', '.', '..')
  if (name === 'code') {
    return fc.constantFrom(
      'ABC', 'ab', 'abcd', 'ab.cd', '..', '.', 'a:B@', '!$&', '', 'abcde', 'AB', 'xx', 'inner', 'innxr', 'inNer', 'Inner', 'inneR'
    )
  }
  const ids = fc.constantFrom(SNAPSHOT, 'detail', 'DETAIL', 'Detail', 'a_b-c', 'x'.repeat(255), 'x'.repeat(256), '.', 'a.b')
  return fc.oneof(ids, fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/))
}
const templateTarget = (s: Setup): fc.Arbitrary<{ method: string, target: string }> => fc.constantFrom(...s.routes).chain((route) =>
  fc.tuple(
    fc.constantFrom(...METHODS, route.method),
    fc.tuple(...route.segments.map((seg) => (seg.kind === 'static' ? fc.constant(seg.value) : valueFor(seg.name)))),
    fc.constantFrom('', '', '?limit=10', '?all_tenants=1', '#x', '/', '/extra')
  ).map(([method, values, tail]) => ({ method, target: `${s.prefix}/${values.join('/')}${tail}` })))

/** Same answer both ways; returns whether the fast path answered. */
function agree (s: Setup, method: string, target: string): boolean {
  const fast = s.matchPlain(method, target)
  if (fast === undefined) return false
  const gated = s.gate.inspect(target)
  const where = `${s.name}: ${method} ${JSON.stringify(target)}`
  assert.ok(gated.kind === 'guarded', `${where} is guarded only on the fast path`)
  // The request stage takes the path of a fast answer as everything before the first `?`.
  assert.equal(target.split('?')[0], gated.path, where)
  assert.equal(s.prefix.length, gated.start, where)
  const slow = s.matcher.match(method, gated.path, gated.start)
  // Compared as plain values: the fast path may share frozen answers where the slow one builds fresh ones.
  assert.deepEqual(structuredCloneable(fast), structuredCloneable(slow), where)
  return true
}

function structuredCloneable (match: object): unknown {
  const m = match as { kind: string, route?: CompiledRoute, params?: Record<string, string>, allowed?: readonly string[] }
  const params = m.params === undefined ? undefined : { ...m.params }
  return { ...m, route: m.route?.index, params, allowed: m.allowed === undefined ? undefined : [...m.allowed] }
}

for (const s of SETUPS) {
  t.test(`${s.name}: hostile targets get the same answer on the fast and the slow path`, async () => {
    fc.assert(fc.property(fc.constantFrom(...METHODS), hostileTarget(s.prefix), (method, target) => {
      agree(s, method, target)
    }), { numRuns: 4000 })
  })

  t.test(`${s.name}: targets built from the templates get the same answer, many on the fast path`, async () => {
    let fast = 0
    let runs = 0
    fc.assert(fc.property(templateTarget(s), ({ method, target }) => {
      runs++
      if (agree(s, method, target)) fast++
    }), { numRuns: 3000 })
    // Not a fixed figure: a fast path that silently never answered would leave this near zero.
    assert.ok(fast > runs / 20, `${fast} of ${runs} answered on the fast path`)
  })
}

t.test('a plainly canonical target of every row is answered on the fast path, with the row', async () => {
  const candidates = [PROJECT, SNAPSHOT, 'env', 'ABC', 'ab', 'abcd', '!$&', 'xx']
  for (const s of SETUPS) {
    for (const route of s.routes) {
      // The first candidate value each parameter's constraint accepts.
      const values = route.segments.map((seg) => seg.kind === 'static'
        ? seg.value
        : candidates.find((v) => route.constraints[seg.name]?.pattern.test(v) === true) ?? 'none fits')
      const target = `${s.prefix}/${values.join('/')}`
      const fast = s.matchPlain(route.method, target)
      assert.ok(fast?.kind === 'matched', `${s.name}: ${target}`)
      assert.equal(fast.route.template, route.template)
      agree(s, route.method, target)
    }
  }
})

t.test('targets the fast path must leave to the gate', async () => {
  const s = SETUPS[0] as Setup
  for (const target of [
    `/V2/${PROJECT}/snapshots`, `/v2/${PROJECT}/snapshots#x`, `/v2/${PROJECT}/snap%73hots`, `/v2/${PROJECT}//snapshots`,
    `/v2/${PROJECT}/./snapshots`, `/v2/${PROJECT}/snapshots/..`, `/v2/${PROJECT};x/snapshots`, `/v2\\${PROJECT}/snapshots`,
    `/v2/${PROJECT}/snapshots/${'x'.repeat(256)}`, `/v2/${PROJECT}/snapshots/a.b`, `/v2/${PROJECT}/snapshots/é`, `v2/${PROJECT}/snapshots`
  ]) {
    assert.equal(s.matchPlain('GET', target), undefined, target)
    agree(s, 'GET', target)
  }
})

t.test('a value spelled like a sibling label in another case: the constraint decides first, on both paths', async () => {
  const s = SETUPS.find((x) => x.name === 'static beside a parameter')
  assert.ok(s !== undefined)
  const cases = [
    // Rejected by {project_id}'s lower-case pattern: no route, naming the parameter (not a malformed, ambiguous path).
    { target: '/v3/Info', kind: 'no-route' },
    { target: '/v3/INFO', kind: 'no-route' },
    { target: '/v3/infO/x', kind: 'no-route' },
    // Accepted by {thing_id}'s id pattern, and spelled like `inner`: ambiguous.
    { target: `/v3/${PROJECT}/things/Inner`, kind: 'ambiguous' },
    { target: `/v3/${PROJECT}/things/inneR`, kind: 'ambiguous' },
    { target: '/v3/info', kind: 'matched' }
  ]
  for (const { target, kind } of cases) {
    const gated = s.gate.inspect(target)
    assert.ok(gated.kind === 'guarded', target)
    assert.equal(s.matcher.match('GET', gated.path, gated.start).kind, kind, `slow path: ${target}`)
    const fast = s.matchPlain('GET', target)
    // The fast path may leave a case to the slow one; when it answers, it answers the same.
    if (fast !== undefined) agree(s, 'GET', target)
  }
})
