// User regexes are screened for catastrophic backtracking at registration (src/core/routing/regex-safety.ts):
// the classic ReDoS shapes are refused with where and why, ordinary patterns and every built-in one pass.
import t from 'tap'
import fc from 'fast-check'
import safeRegex from 'safe-regex2'
import { backtrackingRisk } from '../../../src/core/routing/regex-safety.js'
import { ID_CONSTRAINT, METADATA_KEY_CONSTRAINT, PROJECT_ID_PATTERN, loadRouteTable } from '../../../src/core/routing/route-table.js'
import { ConfigurationError } from '../../../src/core/support/errors.js'
import { createAuthorizer } from '../../../src/core/authorizer.js'
import { snapshotRoutes } from '../../../src/routes/snapshots.js'

const hostile: Array<[RegExp, RegExp]> = [
  [/^(a+)+$/, /sits inside a repeated group, as in \(a\+\)\+/],
  [/(a|a)*$/, /alternatives 1 and 2 of the repeated group \(a\|a\) can start with the same character/],
  [/^(\w+\s?)*$/, /sits inside a repeated group, as in \(a\+\)\+/],
  [/^(a|aa)+$/, /alternatives 1 and 2/],
  [/^(a|a?)+$/, /may backtrack catastrophically/],
  [/^(x|\d|[0-9a-f])+$/, /alternatives 2 and 3/],
  [/^(?:ab|cd|Ax)*$/i, /alternatives 1 and 3/],
  [/^(?:\p{L}|a)*$/u, /alternatives 1 and 2/],
  [/^(x(y|y))*$/, /alternatives 1 and 2/],
  [/^(?:[^b]|a){2,}$/, /alternatives 1 and 2/],
  [/^(.*a){12}$/, /sits inside a repeated group, as in \(a\+\)\+/],
  [/^([a-zA-Z0-9])(([-.]|[_]+)?([a-zA-Z0-9]+))*(@)[a-z0-9]+$/, /sits inside a repeated group, as in \(a\+\)\+/],
  [/^(a?){26}$/, /the quantifier in a\? sits inside/],
  [new RegExp(`^${'a?'.repeat(26)}${'a'.repeat(26)}$`), /more than 25 variable quantifiers \(26\)/],
  // eslint-disable-next-line prefer-regex-literals -- a /v literal needs an ES2024 target, ours is ES2022
  [new RegExp('[\\p{L}--a]', 'v'), /v flag/],
  [/(?<=a)b/, /cannot be checked/],
  [/^(a)(?:\1|b)*$/, /alternatives 1 and 2/], // a backreference may start with anything
  [/^(?:A|a)*$/i, /alternatives 1 and 2/],
  [/^(?:[^b-y]|Z)+$/i, /alternatives 1 and 2/],
  [/^(?:(?=x)a|\ba)*$/, /alternatives 1 and 2/], // lookarounds and \b consume nothing
  [/^(?:[\p{L}]|1)*$/u, /alternatives 1 and 2/], // a property escape may be any character
  [/^(?:\.|\.)*$/u, /alternatives 1 and 2/],
  [/^(?:.|\n)*$/s, /alternatives 1 and 2/], // under s a dot matches a line break too
  [/^(?:é|É)*$/i, /alternatives 1 and 2/],
  [/^(?:\u017F|s)*$/iu, /alternatives 1 and 2/] // ſ folds to s
]

for (const [pattern, why] of hostile) {
  t.test(`refuses ${String(pattern)}`, async (t) => {
    t.match(backtrackingRisk(pattern), why)
  })
}

const ordinary: RegExp[] = [
  PROJECT_ID_PATTERN, ID_CONSTRAINT.pattern, METADATA_KEY_CONSTRAINT.pattern,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, /^[0-9A-F]{32}$/i, /^t-[0-9]+$/, /^(foo|bar)$/,
  /^(?:ab|cd)*$/, /^(?:ab|Cd)*$/, /^\p{L}+$/u, /^[\p{L}_]+$/u, /^v\d+(?:\.\d+)?$/, /^(?<id>[a-z]+)$/, /^\S+$/, /^(?:[a-z]|-)+$/,
  /^[a-z]+(?:-[a-z]+)?$/, /^(?:[a-z]{2}){1,4}$/, /^(?:a{3})*$/, new RegExp(`^${'a?'.repeat(25)}$`),
  /^(?:A|b)*$/i, /^(?:(?=x)x|y)*$/, /^(?:\.|\\)*$/u, /^(?:\p{Lu}|\d)$/u,
  /^(?:.|\n)*$/, /^(?:é|a)*$/i
]

for (const pattern of ordinary) {
  t.test(`accepts ${String(pattern)}`, async (t) => {
    t.equal(backtrackingRisk(pattern), undefined)
  })
}

function problemsOf (build: () => unknown): { code: string, problems: string[] } {
  try {
    build()
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error
    return { code: error.code, problems: error.problems.map((p) => `${p.at}: ${p.message}`) }
  }
  return { code: '', problems: [] }
}

const row = (params: Record<string, unknown>, index = 0): Record<string, unknown> => ({
  method: 'GET',
  template: `/v2/{project_id}/things${index}/{thing_id}`,
  actions: ['evs:things:get'],
  enterpriseProject: false,
  family: 'cinder',
  name: 'Show a thing',
  params
})

t.test('a route parameter pattern is refused where it is, with the route table code, every bad row at once', async (t) => {
  const rows = [row({}, 0), row({}, 1), row({}, 2), row({ thing_id: { pattern: /^(a+)+$/ } }, 3),
    row({ thing_id: { pattern: /^(a|a)*$/ } }, 4)]
  const { code, problems } = problemsOf(() => loadRouteTable(rows))
  t.equal(code, 'EVS_AUTHZ_ERR_ROUTE_TABLE')
  t.same(problems.map((p) => p.replace(/: .*/, '')), ['routes[3].params.thing_id.pattern', 'routes[4].params.thing_id.pattern'])
  t.match(problems[0], /^routes\[3\]\.params\.thing_id\.pattern: \/\^\(a\+\)\+\$\/ may backtrack catastrophically/)
})

t.test('projectIdPattern is refused as an option (EVS_AUTHZ_ERR_OPTIONS), by the loader and by createAuthorizer', async (t) => {
  for (const build of [() => loadRouteTable([row({})], { projectIdPattern: /^([0-9a-f]+)*$/ }),
    () => createAuthorizer({ projectIdPattern: /^([0-9a-f]|[a-f])*$/ })]) {
    const { code, problems } = problemsOf(build)
    t.equal(code, 'EVS_AUTHZ_ERR_OPTIONS')
    t.equal(problems.length, 1)
    t.match(problems[0], /^projectIdPattern: \/.*\/ may backtrack catastrophically/)
  }
})

t.test('a projectIdPattern with the g or y flag is refused by the loader and by createAuthorizer (a stateful test)', async (t) => {
  for (const flags of ['g', 'y', 'gi', 'iy']) {
    const pattern = new RegExp('^[0-9a-f]{32}$', flags)
    // What registration prevents: the same value matches and fails by turns, as lastIndex moves on.
    const turns = [0, 1, 2].map(() => pattern.test('0123456789abcdef0123456789abcdef'))
    t.ok(turns.some((v) => v !== turns[0]), `/${pattern.source}/${flags} flips between calls`)
    const builds = [() => loadRouteTable([row({})], { projectIdPattern: pattern }), () => createAuthorizer({ projectIdPattern: pattern })]
    for (const build of builds) {
      const { code, problems } = problemsOf(build)
      t.equal(code, 'EVS_AUTHZ_ERR_OPTIONS', flags)
      t.same(problems.length, 1, flags)
      t.match(problems[0], new RegExp(`^projectIdPattern: /.*/${flags} has the ${flags.includes('g') ? 'g' : 'y'} flag`), flags)
    }
  }
})

t.test('ordinary patterns register, and the built-in table loads with the default project id pattern', async (t) => {
  t.equal(loadRouteTable([row({ thing_id: { pattern: /^t-[0-9]{1,8}$/ } })], { projectIdPattern: /^[0-9a-f]{32}$/ }).length, 1)
  t.doesNotThrow(() => createAuthorizer({ projectIdPattern: /^[0-9A-Za-z-]+$/ }))
})

// Differential: safe-regex2 (fastify's star-height check) as the oracle, on generated patterns whose quantifiers all
// repeat (*, +, {2,4}), where its rule and our nesting rule coincide. Whatever it refuses we refuse; what we refuse
// beyond it is the alternation overlap it does not look for.
const atom: fc.Arbitrary<string> = fc.letrec<{ re: string }>((tie) => ({
  re: fc.oneof({ maxDepth: 3, depthIdentifier: 're' },
    fc.constantFrom('a', 'b', '\\d', '\\w', '[a-c]', '[^a]', '.', '-'),
    fc.tuple(tie('re'), fc.constantFrom('*', '+', '{2,4}')).map(([re, q]) => `(?:${re})${q}`),
    fc.array(tie('re'), { minLength: 2, maxLength: 3 }).map((parts) => parts.join('')),
    fc.array(tie('re'), { minLength: 2, maxLength: 3 }).map((parts) => `(?:${parts.join('|')})`))
})).re

t.test('we refuse everything safe-regex2 refuses; the rest we refuse are overlapping alternatives', async (t) => {
  let refusedByBoth = 0
  fc.assert(fc.property(atom, (source) => {
    const pattern = new RegExp(`^${source}$`)
    const ours = backtrackingRisk(pattern)
    if (!safeRegex(pattern)) {
      if (ours !== undefined) refusedByBoth++
      return ours !== undefined
    }
    return ours === undefined || /alternatives \d+ and \d+ of the repeated group/.test(ours)
  }), { numRuns: 3000 })
  t.ok(refusedByBoth > 100, `the oracle refused (and so did we) ${refusedByBoth} patterns`)
})

t.test('a risky projectIdPattern is listed with the other option problems, in one error', async (t) => {
  const error = t.throws(() => createAuthorizer({ projectIdPattern: /^(a+)+$/, unmatched: 'sometimes' as 'deny' })) as ConfigurationError
  t.equal(error.code, 'EVS_AUTHZ_ERR_OPTIONS')
  t.same(error.problems.map((p) => p.at).sort(), ['projectIdPattern', 'unmatched'])
})

t.test('a RegExp whose source or flags are doctored cannot pass the check', async (t) => {
  const doctored = Object.defineProperty(/^(a+)+$/, 'source', { value: '^a+$' })
  class Sly extends RegExp {}
  for (const [what, pattern] of [['an own source', doctored], ['a subclass', new Sly('^(a+)+$')]] as const) {
    t.match(backtrackingRisk(pattern), /not a plain RegExp/, what)
    t.throws(() => createAuthorizer({ projectIdPattern: pattern }), { code: 'EVS_AUTHZ_ERR_OPTIONS' }, `${what}: refused at registration`)
  }
  t.equal(backtrackingRisk(/^[a-z]+$/), undefined, 'a literal passes')
  const row = { ...snapshotRoutes[0], template: '/v2/{project_id}/spoofed/{code}', params: { code: { pattern: doctored } } }
  t.throws(() => loadRouteTable([row]), { code: 'EVS_AUTHZ_ERR_ROUTE_TABLE' }, 'a doctored route parameter pattern is refused')
})
