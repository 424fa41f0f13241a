// Property tests for the radix matcher (src/core/routing/matcher.ts) over the built-in snapshot table.
// Two oracles that share no code with the matcher: a linear scan with path-to-regexp, and
// find-my-way, the router Fastify itself uses. A third group checks paths built from each template.
import * as assert from 'node:assert/strict'
import t from 'tap'
import fc from 'fast-check'
import FindMyWay from 'find-my-way'
import { match, type MatchFunction } from 'path-to-regexp'
import { compileMatcher, type MatchResult } from '../../../src/core/routing/matcher.js'
import { compilePathGate } from '../../../src/core/request/path-gate.js'
import { loadRouteTable, type CompiledRoute } from '../../../src/core/routing/route-table.js'
import { toColonSyntax, type TemplateSegment } from '../../../src/core/routing/template.js'
import { snapshotRoutes } from '../../../src/routes/snapshots.js'

const routes = loadRouteTable(snapshotRoutes)
const matcher = compileMatcher(routes)
const gate = compilePathGate('')

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH'] as const
type Method = typeof METHODS[number]

// ---------------------------------------------------------------------------------------------
// The table seen as a flat list of templates (one entry per distinct template, rows by method).

interface Shape {
  readonly template: string
  readonly segments: readonly TemplateSegment[]
  readonly fits: MatchFunction<Record<string, string>>
  readonly byMethod: ReadonlyMap<string, CompiledRoute>
}

const shapes: Shape[] = []
for (const route of routes) {
  let shape = shapes.find((s) => s.template === route.template)
  if (shape === undefined) {
    shape = {
      template: route.template,
      segments: route.segments,
      fits: match<Record<string, string>>(toColonSyntax(route.template), { sensitive: true, trailing: false, decode: false }),
      byMethod: new Map()
    }
    shapes.push(shape)
  }
  ;(shape.byMethod as Map<string, CompiledRoute>).set(route.method, route)
}

const STATIC_WORDS = [...new Set(routes.flatMap((r) => r.segments.flatMap((s) => (s.kind === 'static' ? [s.value] : []))))]
const PARAM_NAMES = [...new Set(routes.flatMap((r) => r.segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []))))]

/** Same tree position: equal statics and params in the same places for the first `k` segments. */
function samePrefix (a: readonly TemplateSegment[], b: readonly TemplateSegment[], k: number): boolean {
  for (let j = 0; j < k; j++) {
    const x = a[j]
    const y = b[j]
    if (x === undefined || y === undefined || x.kind !== y.kind) return false
    if (x.kind === 'static' && y.kind === 'static' && x.value !== y.value) return false
  }
  return true
}

/** Static segments that sit beside position `k` of `segments` in the tree. */
function siblingStatics (segments: readonly TemplateSegment[], k: number): string[] {
  const out = new Set<string>()
  for (const shape of shapes) {
    const s = shape.segments[k]
    if (s !== undefined && s.kind === 'static' && samePrefix(shape.segments, segments, k)) out.add(s.value)
  }
  return [...out]
}

/** Negative when `a` is the more specific: at the first position where kinds differ, static wins. */
function bySpecificity (a: Shape, b: Shape): number {
  const n = Math.min(a.segments.length, b.segments.length)
  for (let k = 0; k < n; k++) {
    const x = a.segments[k] as TemplateSegment
    const y = b.segments[k] as TemplateSegment
    if (x.kind !== y.kind) return x.kind === 'static' ? -1 : 1
  }
  return 0
}

// ---------------------------------------------------------------------------------------------
// Oracle A: linear path-to-regexp scan plus the rules of README "How a request is judged" (Match).

type Expected =
  | { readonly kind: 'matched', readonly index: number, readonly params: Record<string, string> }
  | { readonly kind: 'no-method', readonly allowed: readonly string[] }
  /** The value is spelled exactly like a sibling static: the static is taken, and leads nowhere. */
  | { readonly kind: 'static-detour', readonly param: string }
  | { readonly kind: 'constraint', readonly param: string }
  | { readonly kind: 'sibling', readonly param: string }
  | { readonly kind: 'none' }

function oracle (method: string, path: string): Expected {
  const candidates = shapes.filter((s) => s.fits(path) !== false).sort(bySpecificity)
  const best = candidates[0]
  if (best === undefined) return { kind: 'none' }
  const fitted = best.fits(path)
  assert.ok(fitted !== false)
  const params: Record<string, string> = {}
  for (const [k, segment] of best.segments.entries()) {
    if (segment.kind !== 'param') continue
    const raw = fitted.params[segment.name] as string
    const value = decodeURIComponent(raw)
    const siblings = siblingStatics(best.segments, k)
    if (siblings.includes(raw)) return { kind: 'static-detour', param: segment.name }
    const route = best.byMethod.values().next().value as CompiledRoute
    const constraint = route.constraints[segment.name]
    assert.ok(constraint !== undefined, `constraint for {${segment.name}}`)
    if (value.length > (constraint.maxLength ?? 255) || !constraint.pattern.test(value)) return { kind: 'constraint', param: segment.name }
    if (siblings.some((s) => s.toLowerCase() === value.toLowerCase())) return { kind: 'sibling', param: segment.name }
    params[segment.name] = value
  }
  const route = best.byMethod.get(method === 'HEAD' ? 'GET' : method)
  if (route === undefined) return { kind: 'no-method', allowed: [...best.byMethod.keys()].sort() }
  return { kind: 'matched', index: route.index, params }
}

function checkAgainstOracle (expected: Expected, actual: MatchResult): void {
  switch (expected.kind) {
    case 'matched':
      assert.equal(actual.kind, 'matched')
      assert.ok(actual.kind === 'matched')
      assert.equal(actual.route.index, expected.index, `route ${actual.route.template}`)
      assert.deepEqual({ ...actual.params }, expected.params)
      return
    case 'no-method':
      assert.equal(actual.kind, 'no-method')
      assert.ok(actual.kind === 'no-method')
      assert.deepEqual([...actual.allowed].sort(), expected.allowed)
      return
    case 'constraint':
      assert.deepEqual({ ...actual }, { kind: 'no-route', rejectedParam: expected.param })
      return
    case 'sibling':
      assert.deepEqual({ ...actual }, { kind: 'ambiguous', param: expected.param })
      return
    case 'static-detour':
    case 'none':
      assert.ok(actual.kind === 'no-route' || actual.kind === 'ambiguous', `expected no match, got ${actual.kind}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Path generators. Every token is in the canonical alphabet the gate lets through.

const hexProjectId = fc.stringMatching(/^[0-9a-f-]{1,36}$/)
const validId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/)
/** Metadata key as [raw, decoded]: `%20` and `%3A` are legal escapes for space and ":". */
const keyPiece = fc.constantFrom<[string, string]>(['a', 'a'], ['Z', 'Z'], ['7', '7'], ['_', '_'], ['-', '-'], ['.', '.'], [':', ':'],
  ['%20', ' '], ['%3A', ':'])
const validKey = fc.array(keyPiece, { minLength: 1, maxLength: 12 })
  .map((parts): [string, string] => [parts.map((p) => p[0]).join(''), parts.map((p) => p[1]).join('')])
  .filter(([raw]) => raw !== '.' && raw !== '..')

/** Values that probe the rules: static spellings, dots, escapes, lengths at and past 255. */
const trickyValue = fc.constantFrom(
  'detail', 'DETAIL', 'Detail', 'dEtAiL', 'detail.json', 'metadata', 'METADATA', 'rollback', 'Rollback',
  'snapshots', 'cloudsnapshots', 'a.b', 'a~b', 'a!b', 'a@b', 'x:y', 'x%3Ay', 'a%2Bb', 'a%20b', 'caf%C3%A9',
  '%F0%9F%98%80', 'ABCDEF', 'abc-123', 'A'.repeat(255), 'A'.repeat(256), 'k'.repeat(255), 'k'.repeat(256),
  '%20'.repeat(255), '%20'.repeat(256), 'f'.repeat(255), 'f'.repeat(256)
)
const smallSegment = fc.stringMatching(/^[a-dA-D0-9._~:-]{1,4}$/).filter((s) => s !== '.' && s !== '..')

function caseVariant (value: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(value.toUpperCase(), `${value.charAt(0).toUpperCase()}${value.slice(1)}`, `${value}s`, value.slice(0, -1),
      `${value}.json`),
    fc.array(fc.boolean(), { minLength: value.length, maxLength: value.length })
      .map((flips) => [...value].map((c, i) => (flips[i] === true ? c.toUpperCase() : c)).join(''))
  ).filter((s) => s !== '' && s !== '.')
}

const anySegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...STATIC_WORDS),
  fc.constantFrom(...STATIC_WORDS).chain(caseVariant),
  trickyValue,
  validId,
  hexProjectId,
  smallSegment
)

/** A value for the parameter at position `k` of `segments`: mostly valid, sometimes a sibling static's spelling. */
function paramValue (segments: readonly TemplateSegment[], k: number, name: string): fc.Arbitrary<string> {
  const valid = name === 'project_id' ? hexProjectId : name === 'key' ? validKey.map(([raw]) => raw) : validId
  const siblings = siblingStatics(segments, k)
  const spelledLikeStatic = siblings.length === 0
    ? trickyValue
    : fc.constantFrom(...siblings).chain((w) => fc.oneof(fc.constant(w), caseVariant(w)))
  return fc.oneof(
    { weight: 12, arbitrary: valid },
    { weight: 2, arbitrary: trickyValue },
    { weight: 2, arbitrary: spelledLikeStatic },
    { weight: 1, arbitrary: anySegment }
  )
}

function fromTemplate (segments: readonly TemplateSegment[]): fc.Arbitrary<string[]> {
  return fc.tuple(...segments.map((s, k) => (s.kind === 'static'
    ? fc.oneof({ weight: 24, arbitrary: fc.constant(s.value) }, { weight: 1, arbitrary: caseVariant(s.value) })
    : paramValue(segments, k, s.name))))
}

type Mutation = (parts: string[]) => string[]
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 14, arbitrary: fc.constant((parts: string[]) => parts) },
  { weight: 1, arbitrary: fc.nat().map((i) => (parts: string[]) => parts.filter((_, j) => j !== i % parts.length)) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), anySegment).map(([i, s]) => (parts: string[]) => parts.toSpliced(i % (parts.length + 1), 0, s))
  },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), anySegment).map(([i, s]) => (parts: string[]) => parts.toSpliced(i % parts.length, 1, s)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('detail', 'DETAIL', 'detail.json', 'metadata', 'rollback', 'x')
      .map((s) => (parts: string[]) => [...parts, s])
  },
  { weight: 1, arbitrary: fc.nat().map((i) => (parts: string[]) => parts.slice(0, i % parts.length)) }
)

const method = fc.constantFrom(...METHODS)

/** A method the template has a row for (HEAD for GET) most of the time, any method otherwise. */
function methodFor (shape: Shape): fc.Arbitrary<Method> {
  const own = METHODS.filter((m) => shape.byMethod.has(m === 'HEAD' ? 'GET' : m))
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...own) }, { weight: 1, arbitrary: method })
}

const fromAnyTemplate = fc.constantFrom(...shapes)
  .chain((shape) => fc.tuple(methodFor(shape), fromTemplate(shape.segments), mutation))
  .map(([m, parts, mutate]): [Method, string] => [m, `/${mutate(parts).join('/')}`])

const fromRandomSegments = fc.tuple(
  method,
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom('v2', 'v3') }, { weight: 1, arbitrary: anySegment }),
  fc.array(anySegment, { maxLength: 7 })
).map(([m, first, rest]): [Method, string] => [m, `/${[first, ...rest].join('/')}`])

/** Requests with canonical paths: the only input the matcher ever receives (the gate refuses the rest). */
const canonicalRequest = fc.oneof({ weight: 6, arbitrary: fromAnyTemplate }, { weight: 1, arbitrary: fromRandomSegments })
  .filter(([, path]) => gate.inspect(path).kind !== 'malformed')

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

/** Runs a property and reports its counterexample (with the seed to replay it) as a tap failure. */
function holds<T> (t: TapTest, property: fc.IProperty<T>, numRuns: number): void {
  const details = fc.check(property, { numRuns })
  if (details.failed) t.fail(`${fc.defaultReportMessage(details) ?? 'property failed'}\n${String(details.errorInstance)}`)
  else t.pass(`${numRuns} runs`)
}

// ---------------------------------------------------------------------------------------------

t.test('matcher agrees with a linear path-to-regexp scan plus the documented rules', async (t) => {
  const seen = new Map<string, number>()
  holds(t, fc.property(canonicalRequest, ([m, path]) => {
    const expected = oracle(m, path)
    seen.set(expected.kind, (seen.get(expected.kind) ?? 0) + 1)
    checkAgainstOracle(expected, matcher.match(m, path, 0))
  }), 10000)
  // The generator must reach every branch of the oracle, or the agreement above proves little.
  for (const kind of ['matched', 'no-method', 'static-detour', 'constraint', 'sibling', 'none']) {
    t.ok((seen.get(kind) ?? 0) > 0, `generated at least one "${kind}" case (${seen.get(kind) ?? 0})`)
  }
})

t.test('oracle A corner cases, spelled out', async (t) => {
  const cases: Array<[Method, string, Expected['kind']]> = [
    ['GET', '/v2/0a1b/snapshots/detail', 'matched'],
    ['PUT', '/v2/0a1b/snapshots/detail', 'no-method'],
    ['GET', '/v2/0a1b/snapshots/DETAIL', 'sibling'],
    ['GET', '/v2/0a1b/snapshots/detail.json', 'constraint'],
    ['GET', '/v2/0a1b/snapshots/detail/metadata', 'static-detour'],
    ['GET', '/v2/0a1b/SNAPSHOTS', 'none'],
    ['HEAD', '/v3/0a1b/snapshots/s-1/metadata/a%20b', 'matched']
  ]
  for (const [m, path, kind] of cases) {
    const expected = oracle(m, path)
    t.equal(expected.kind, kind, `oracle: ${m} ${path}`)
    t.doesNotThrow(() => checkAgainstOracle(expected, matcher.match(m, path, 0)), `matcher: ${m} ${path}`)
  }
})

// ---------------------------------------------------------------------------------------------
// Oracle B: find-my-way with the same table, on raw request targets including malformed ones.

const router = FindMyWay({ caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 255 })
for (const route of routes) {
  router.on(route.method, toColonSyntax(route.template), () => route.index, { index: route.index })
}

type Explanation = 'gate-refused' | 'constraint' | 'sibling-spelling' | 'static-prefix'

/** Why we refuse what find-my-way routes; undefined when nothing in our stricter rules explains it. */
function explain (route: CompiledRoute, params: Record<string, string | undefined>): Explanation | undefined {
  for (const [k, segment] of route.segments.entries()) {
    if (segment.kind !== 'param') continue
    const value = params[segment.name]
    assert.ok(value !== undefined, `find-my-way gave no {${segment.name}}`)
    const constraint = route.constraints[segment.name]
    assert.ok(constraint !== undefined)
    const siblings = siblingStatics(route.segments, k)
    // find-my-way backtracks out of a static edge into the parameter; we never do.
    if (siblings.includes(value)) return 'static-prefix'
    if (value.length > (constraint.maxLength ?? 255) || !constraint.pattern.test(value)) return 'constraint'
    if (siblings.some((s) => s.toLowerCase() === value.toLowerCase())) return 'sibling-spelling'
  }
  return undefined
}

/** Request-target edge cases (item 20 of the house style): each is refused, or both routers agree. */
const edge: fc.Arbitrary<(path: string) => string> = fc.constantFrom(
  (p: string) => `${p}/`,
  (p: string) => p.replace(/\/(?=[^/]*$)/, '//'),
  (p: string) => p.replace('/', '//'),
  (p: string) => `${p}%2Fx`,
  (p: string) => p.replace(/\/([^/]*)$/, '/a%2F$1'),
  (p: string) => `${p}?q=1`,
  (p: string) => `${p}#frag`,
  (p: string) => `${p}é`,
  (p: string) => `${p}/%C3%A9`,
  (p: string) => p.replace('/v', '/%76'),
  (p: string) => p.replace('/v2', '/V2'),
  (p: string) => p.replace(/\/([^/]*)$/, '/%2e%2e/$1'),
  (p: string) => p.replace(/\/([^/]*)$/, '/./$1'),
  (p: string) => p.replace(/\/([^/]*)$/, '/x/../$1'),
  (p: string) => `${p};jsessionid=1`,
  (p: string) => `${p}%00`,
  (p: string) => `${p}%C0%AF`,
  (p: string) => p.replace(/\/([^/]*)$/, '\\$1'),
  (p: string) => `${p}${'a'.repeat(300)}`,
  (p: string) => `http://evs.example${p}`
)
const rawRequest = fc.oneof(
  { weight: 3, arbitrary: canonicalRequest },
  { weight: 2, arbitrary: fc.tuple(canonicalRequest, edge).map(([[m, p], f]): [Method, string] => [m, f(p)]) }
)

t.test('find-my-way routes exactly what we match; every extra match it makes is one our stricter rules refuse', async (t) => {
  const seen = new Map<string, number>()
  const count = (what: string): void => { seen.set(what, (seen.get(what) ?? 0) + 1) }
  holds(t, fc.property(rawRequest, ([m, target]) => {
    const found = router.find(m === 'HEAD' ? 'GET' : m, target)
    const gated = gate.inspect(target)
    const ours = gated.kind === 'guarded' ? matcher.match(m, gated.path, gated.start) : undefined
    if (ours?.kind === 'matched') {
      assert.ok(found !== null, 'find-my-way finds the route we matched')
      assert.equal((found.store as { index: number }).index, ours.route.index)
      assert.deepEqual({ ...found.params }, { ...ours.params })
      count('both-matched')
      return
    }
    if (found === null) {
      count('both-missed')
      return
    }
    // find-my-way would hand this request to a snapshot handler: we must be refusing it, for a stated reason.
    assert.notEqual(gated.kind, 'outside', 'a target find-my-way routes is inside the guarded space')
    if (gated.kind === 'malformed') {
      count('gate-refused')
      return
    }
    const route = routes[(found.store as { index: number }).index] as CompiledRoute
    const why = explain(route, found.params)
    const theirs = `${route.method} ${route.template} ${JSON.stringify({ ...found.params })}`
    assert.ok(why !== undefined, `unexplained: find-my-way routes ${m} ${target} to ${theirs}, we say ${JSON.stringify(ours)}`)
    count(why)
  }), 10000)
  for (const what of ['both-matched', 'both-missed', 'gate-refused', 'constraint', 'sibling-spelling', 'static-prefix']) {
    t.ok((seen.get(what) ?? 0) > 0, `generated at least one "${what}" case (${seen.get(what) ?? 0})`)
  }
})

t.test('find-my-way differences, spelled out', async (t) => {
  const cases: Array<[Method, string, Explanation]> = [
    ['GET', '/v2/0a1b/snapshots/detail/metadata', 'static-prefix'],
    ['PUT', '/v2/0a1b/snapshots/detail', 'static-prefix'],
    ['GET', '/v2/0a1b/snapshots/DETAIL', 'sibling-spelling'],
    ['GET', '/v2/0a1b/snapshots/detail.json', 'constraint'],
    ['GET', '/v2/0A1B/snapshots', 'constraint']
  ]
  for (const [m, path, why] of cases) {
    const found = router.find(m, path)
    t.ok(found !== null, `find-my-way routes ${m} ${path}`)
    t.not(matcher.match(m, path, 0).kind, 'matched', `we refuse ${m} ${path}`)
    if (found !== null) t.equal(explain(routes[(found.store as { index: number }).index] as CompiledRoute, found.params), why)
  }
})

// ---------------------------------------------------------------------------------------------
// Paths built from a template, with valid values, always reach that template.

const lowerStatics = new Set(STATIC_WORDS.map((w) => w.toLowerCase()))
/** A constraint-valid value as [raw, decoded] that no static segment spells, in any case. */
function validValue (name: string): fc.Arbitrary<[string, string]> {
  const raw = name === 'project_id'
    ? hexProjectId.map((v): [string, string] => [v, v])
    : name === 'key' ? validKey : validId.map((v): [string, string] => [v, v])
  return raw.filter(([, decoded]) => !lowerStatics.has(decoded.toLowerCase()))
}

function concrete (shape: Shape): fc.Arbitrary<{ path: string, params: Record<string, string> }> {
  return fc.tuple(...shape.segments.map((s) =>
    (s.kind === 'static' ? fc.constant<[string, string]>([s.value, s.value]) : validValue(s.name))))
    .map((parts) => {
      const params: Record<string, string> = {}
      shape.segments.forEach((s, i) => { if (s.kind === 'param') params[s.name] = (parts[i] as [string, string])[1] })
      return { path: `/${parts.map(([raw]) => raw).join('/')}`, params }
    })
}

/** What the table says for `method` on a path of `shape`: its row (HEAD as GET), or no-method. */
function expectFromTable (shape: Shape, m: Method, params: Record<string, string>): Expected {
  const route = shape.byMethod.get(m === 'HEAD' ? 'GET' : m)
  return route === undefined
    ? { kind: 'no-method', allowed: [...shape.byMethod.keys()].sort() }
    : { kind: 'matched', index: route.index, params }
}

t.test('every template matches concrete paths built from it, with the right params, for every method', async (t) => {
  t.ok(PARAM_NAMES.length >= 3, 'the table has project_id, snapshot_id and key parameters')
  const shapeAndPath = fc.constantFrom(...shapes).chain((shape) => fc.tuple(fc.constant(shape), concrete(shape)))
  holds(t, fc.property(shapeAndPath, ([shape, { path, params }]) => {
    for (const m of METHODS) checkAgainstOracle(expectFromTable(shape, m, params), matcher.match(m, path, 0))
  }), 1500)
})

t.test('a static segment always beats a parameter in the same position', async (t) => {
  // Pairs from the table: S has a static where P, at the same tree position, has a parameter.
  const pairs: Array<[Shape, Shape]> = []
  for (const s of shapes) {
    for (const p of shapes) {
      if (s.segments.length !== p.segments.length) continue
      // Every path of S fits P: P has a parameter or the same static at each position ...
      const covers = s.segments.every((seg, i) => {
        const q = p.segments[i]
        return q?.kind === 'param' || (seg.kind === 'static' && q?.kind === 'static' && seg.value === q.value)
      })
      // ... and at least once a parameter where S has a static.
      const contest = s.segments.some((seg, i) => seg.kind === 'static' && p.segments[i]?.kind === 'param')
      if (covers && contest) pairs.push([s, p])
    }
  }
  t.ok(pairs.some(([s]) => s.template === '/v2/{project_id}/snapshots/detail'),
    'snapshots/detail vs snapshots/{snapshot_id} is among the pairs')
  t.ok(pairs.length >= 3, `${pairs.length} static-vs-parameter pairs`)
  const pairAndPath = fc.constantFrom(...pairs).chain(([s, p]) => fc.tuple(fc.constant(s), fc.constant(p), concrete(s)))
  holds(t, fc.property(pairAndPath, ([s, p, { path, params }]) => {
    // The path fits the parameter template too, so this is a real contest ...
    assert.ok(p.fits(path) !== false, `${path} also fits ${p.template}`)
    for (const m of METHODS) {
      // ... and the static template wins it, for every method, even one only the parameter template has.
      checkAgainstOracle(expectFromTable(s, m, params), matcher.match(m, path, 0))
    }
  }), 500)
})
