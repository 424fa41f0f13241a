// The template parser (src/core/routing/template.ts): table cases for each invariant and error message, then
// path-to-regexp as the oracle (it shares no code with the parser): what we accept, it reads the same way and
// matches the same paths; what it refuses, we refuse.
import t from 'tap'
import fc from 'fast-check'
import { match, parse } from 'path-to-regexp'
import { parseTemplate, toColonSyntax, type TemplateSegment } from '../../../src/core/routing/template.js'

const show = (segments: readonly TemplateSegment[]): string[] => segments.map((s) => `${s.kind}:${s.kind === 'static' ? s.value : s.name}`)

const valid: Array<[string, string[]]> = [
  ['/v2/{project_id}/snapshots', ['static:v2', 'param:project_id', 'static:snapshots']],
  ['/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}',
    ['static:v2', 'param:project_id', 'static:snapshots', 'param:snapshot_id', 'static:metadata', 'param:key']],
  ['/v3/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback',
    ['static:v3', 'param:project_id', 'static:os-vendor-snapshots', 'param:snapshot_id', 'static:rollback']],
  ['/a.b~c_d-e', ['static:a.b~c_d-e']],
  ['/{_x9}', ['param:_x9']]
]

for (const [template, expected] of valid) {
  t.test(`parses ${template}`, async (t) => {
    const parsed = parseTemplate(template)
    t.equal(parsed.kind, 'parsed')
    if (parsed.kind === 'parsed') t.same(show(parsed.segments), expected)
  })
}

// Each message names the segment (1-based) and, for a character, its offset (0-based) in the template.
const invalid: Array<[unknown, RegExp]> = [
  ['v2/{project_id}', /^must be a string starting with "\/"$/],
  [42, /^must be a string starting with "\/"$/],
  ['/v2/{project_id}/a\\b', /^segment 3 "a\\b": backslash at offset 18 is not allowed \(this syntax has no escapes\)$/],
  ['/v2/{project_id}/\\{x}', /^segment 3 "\\{x}": backslash at offset 17/],
  ['/v2/{project_id', /^segment 2 "{project_id": unclosed "{" at offset 4$/],
  ['/v2/project_id}', /^segment 2 "project_id}": "}" at offset 14 closes no parameter$/],
  ['/v2/{a{b}}', /"{" at offset 6 opens a parameter inside the parameter opened at offset 4/],
  ['/v2/{a/b}', /segment 2 "{a": unclosed "{" at offset 4\nsegment 3 "b}": "}" at offset 8 closes no parameter/],
  ['/v2/{project_id}{snapshot_id}', /^segment 2 "{project_id}{snapshot_id}" has more than one part; .*only one parameter per segment/],
  ['/v2/{snapshot_id}.json', /^segment 2 "{snapshot_id}.json" has more than one part/],
  ['/v2/x{id}', /^segment 2 "x{id}" has more than one part/],
  ['/v2/*rest', /^segment 2 "\*rest": "\*" at offset 4 is not allowed \(wildcards are not allowed; parameters are written \{name\}\)$/],
  ['/v2/:id', /^segment 2 ":id": ":" at offset 4 is not allowed/],
  ['/v2//snapshots', /^segment 2 is empty \(no "\/\/" and no trailing "\/"\)$/],
  ['/v2/snapshots/', /^segment 3 is empty/],
  ['/', /^segment 1 is empty/],
  ['/v2/{1bad}', /^segment 2 "{1bad}": parameter name "1bad" must match/],
  ['/v2/{}', /^segment 2 "{}": parameter name "" must match/],
  ['/v2/{a}/x/{a}', /^parameter \{a\} appears more than once$/],
  ['/v2/../snapshots', /^segment 2 "\.\." must be canonical/],
  ['/v2/./snapshots', /^segment 2 "\." must be canonical/],
  ['/v2/sn%61pshots', /^segment 2 "sn%61pshots" must be canonical/],
  ['/v2/snap shots', /must be canonical/],
  ['/v2/(x)', /must be canonical/],
  ['/v2/é', /must be canonical/]
]

for (const [template, problem] of invalid) {
  t.test(`rejects ${String(template)}`, async (t) => {
    const parsed = parseTemplate(template)
    t.equal(parsed.kind, 'invalid')
    if (parsed.kind === 'invalid') t.match(parsed.problems.join('\n'), problem)
  })
}

t.test('every problem is reported at once, in template order', async (t) => {
  const parsed = parseTemplate('/v2//a\\b/{x}{y}/{toString}/:z')
  t.equal(parsed.kind, 'invalid')
  if (parsed.kind !== 'invalid') return
  t.same(parsed.problems.map((p) => /^segment (\d+)/.exec(p)?.[1]), ['2', '3', '4', '5', '6'])
})

t.test('Object.prototype names are not parameter names (parameters land in plain objects)', async (t) => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const parsed = parseTemplate(`/v2/{${name}}`)
    t.equal(parsed.kind, 'invalid', name)
    if (parsed.kind === 'invalid') t.match(parsed.problems.join('\n'), /is reserved/)
  }
})

t.test('toColonSyntax writes a valid template for path-to-regexp and refuses an invalid one', async (t) => {
  t.equal(toColonSyntax('/v2/{project_id}/snapshots/{snapshot_id}'), '/v2/:project_id/snapshots/:snapshot_id')
  t.throws(() => toColonSyntax('/v2/{project_id}/a\\b'), TypeError)
})

// ---------------------------------------------------------------------------------------------
// path-to-regexp as the oracle.

const STATIC = fc.stringMatching(/^[A-Za-z0-9._~-]{1,6}$/).filter((s) => s !== '.' && s !== '..')
const NAME = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/).filter((n) => !Object.hasOwn(Object.prototype, n))
const validSegments = fc.array(fc.oneof(STATIC.map((value) => ({ kind: 'static' as const, value })),
  NAME.map((name) => ({ kind: 'param' as const, name }))), { minLength: 1, maxLength: 6 })
  .filter((segments) => {
    const names = segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []))
    return new Set(names).size === names.length
  })
const write = (segments: readonly TemplateSegment[], param: (name: string) => string): string =>
  segments.map((s) => `/${s.kind === 'static' ? s.value : param(s.name)}`).join('')
const braces = (segments: readonly TemplateSegment[]): string => write(segments, (name) => `{${name}}`)
// Written here, not with toColonSyntax, so the oracle does not run the code under test.
const colons = (segments: readonly TemplateSegment[]): string => write(segments, (name) => `:${name}`)

/** What a parsed template matches, by the documented rule: same segment count, statics equal, parameters non-empty. */
function ourMatch (segments: readonly TemplateSegment[], path: string): Record<string, string> | false {
  const parts = path.split('/')
  if (parts.shift() !== '' || parts.length !== segments.length) return false
  const params: Record<string, string> = {}
  for (const [i, segment] of segments.entries()) {
    const part = parts[i] ?? ''
    if (segment.kind === 'static' ? part !== segment.value : part === '') return false
    if (segment.kind === 'param') params[segment.name] = part
  }
  return params
}

// Request paths: mostly the template filled in with hostile values, sometimes a path that differs from it.
const PATH_CHAR = fc.constantFrom('a', 'Z', '0', '-', '.', '_', '~', '%', '2', 'F', ':', '*', '{', '}', '\\', ' ', 'é', '?')
const value = fc.array(PATH_CHAR, { minLength: 0, maxLength: 5 }).map((cs) => cs.join(''))
const pathFor = (segments: readonly TemplateSegment[]): fc.Arbitrary<string> => fc.oneof(
  fc.tuple(...segments.map((s) => (s.kind === 'static' ? fc.constant(s.value) : value))).map((parts) => `/${parts.join('/')}`),
  fc.array(fc.oneof(value, ...segments.map((s) => fc.constant(s.kind === 'static' ? s.value : 'x'))), { maxLength: 7 })
    .map((parts) => `/${parts.join('/')}`),
  fc.constant(`${braces(segments)}/`)
)

t.test('valid templates: our segments are the generated ones and match exactly the paths path-to-regexp matches', async (t) => {
  const somePaths = (segments: readonly TemplateSegment[]): fc.Arbitrary<string[]> =>
    fc.array(pathFor(segments), { minLength: 1, maxLength: 8 })
  const withPaths = validSegments.chain((segments) => fc.tuple(fc.constant(segments), somePaths(segments)))
  fc.assert(fc.property(withPaths,
    ([segments, paths]) => {
      const parsed = parseTemplate(braces(segments))
      if (parsed.kind !== 'parsed') return false
      if (JSON.stringify(parsed.segments) !== JSON.stringify(segments)) return false
      const oracle = match<Record<string, string>>(colons(segments), { sensitive: true, trailing: false, decode: false })
      return paths.every((path) => {
        const theirs = oracle(path)
        const ours = ourMatch(parsed.segments, path)
        return theirs === false ? ours === false : ours !== false && JSON.stringify({ ...theirs.params }) === JSON.stringify(ours)
      })
    }), { numRuns: 400 })
  t.pass('agrees on 400 templates')
})

const HOSTILE_INSERT = fc.constantFrom('\\', ':', '*', '{', '}', '//', '%', '?', '(', ')', ' ', '+', '!', '[', 'é', '\\{')

t.test('invalid templates: one hostile character anywhere in a valid template is refused', async (t) => {
  fc.assert(fc.property(validSegments, HOSTILE_INSERT, fc.nat(), (segments, insert, at) => {
    const template = braces(segments)
    const index = at % (template.length + 1)
    return parseTemplate(`${template.slice(0, index)}${insert}${template.slice(index)}`).kind === 'invalid'
  }), { numRuns: 2000 })
  t.pass('all refused')
})

t.test('arbitrary strings: path-to-regexp refuses ⇒ we refuse; we accept ⇒ it reads the same text and parameters', async (t) => {
  const PIECE = fc.constantFrom('/', '/', '/', 'v2', 'a', '_', '{a}', '{b_1}', '{', '}', ':x', '*', '\\', '.', '-', '~', '%', '?', '(', ')',
    '+', '!', ' ')
  fc.assert(fc.property(fc.array(PIECE, { maxLength: 12 }).map((cs) => `/${cs.join('')}`), (template) => {
    const parsed = parseTemplate(template)
    // The rewrite under which path-to-regexp once validated our templates: braces around a name become a colon.
    let tokens
    try {
      tokens = parse(template.replace(/\{([^{}]*)\}/g, ':$1')).tokens
    } catch {
      return parsed.kind === 'invalid'
    }
    if (parsed.kind === 'invalid') return true
    const expected = parsed.segments.flatMap((s) => (s.kind === 'static' ? [`text:/${s.value}`] : ['text:/', `param:${s.name}`]))
    const read = tokens.map((token) => `${token.type}:${token.type === 'text' ? token.value : 'name' in token ? token.name : ''}`)
    return JSON.stringify(joinTexts(read)) === JSON.stringify(joinTexts(expected))
  }), { numRuns: 5000 })
  t.pass('consistent on 5000 strings')
})

/** Adjacent text tokens merged, so `text:/` + `text:v2` and `text:/v2` compare equal. */
function joinTexts (tokens: readonly string[]): string[] {
  const out: string[] = []
  for (const token of tokens) {
    const last = out.at(-1)
    if (token.startsWith('text:') && last?.startsWith('text:') === true) out[out.length - 1] = last + token.slice('text:'.length)
    else out.push(token)
  }
  return out
}
