// The query reader against a line-by-line transliteration of webob 1.8's parse_qsl_text (what Cinder's
// controllers read through req.GET), on hand-picked and generated query strings. The differential test
// against the real webob/Routes/Cinder code runs separately (npm run test:differential).
import t from 'tap'
import fc from 'fast-check'
import { readQuery, withoutParameters, parametersNamed, securityName } from '../../../src/core/request/query.js'
import { withoutCrossProjectKeys, withoutCrossProjectParams } from '../../../src/core/request/cross-project.js'

/** webob.compat.parse_qsl_text (Python 3 branch), with urllib's unquote_to_bytes. */
function webobPairs (qs: string): Array<[string, string]> | 'UnicodeDecodeError' {
  const bytes = Buffer.from(qs, 'latin1').toString('latin1').replaceAll('+', ' ')
  const pairs = bytes.split('&').flatMap((s1) => s1.split(';')).filter((s2) => s2 !== '')
  const out: Array<[string, string]> = []
  const unquote = (s: string): Buffer => {
    const result: number[] = []
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
        result.push(parseInt(s.slice(i + 1, i + 3), 16))
        i += 2
      } else {
        result.push(s.charCodeAt(i))
      }
    }
    return Buffer.from(result)
  }
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const nv = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)]
    try {
      out.push([decoder.decode(unquote(nv[0] ?? '')), decoder.decode(unquote(nv[1] ?? ''))])
    } catch {
      return 'UnicodeDecodeError'
    }
  }
  return out
}

const examples: Array<[string, Array<[string, string]> | 'undecodable']> = [
  ['', []],
  ['a=1&b=2', [['a', '1'], ['b', '2']]],
  ['a=1;b=2', [['a', '1'], ['b', '2']]],
  [';all_tenants=1', [['all_tenants', '1']]],
  ['a&&b=;', [['a', ''], ['b', '']]],
  ['x=a+b%20c', [['x', 'a b c']]],
  ['%5Fmethod=DELETE', [['_method', 'DELETE']]],
  ['k=%zz%4', [['k', '%zz%4']]],
  ['n=%e4%b8%ad', [['n', '中']]],
  ['a==b', [['a', '=b']]],
  ['bad=%ff', 'undecodable'],
  ['%c0%af=1', 'undecodable']
]

t.test('examples', async (t) => {
  for (const [query, expected] of examples) {
    const reading = readQuery(query)
    if (expected === 'undecodable') t.equal(reading.kind, 'undecodable', query)
    else t.same(reading.kind === 'read' ? reading.parameters.map((p) => [p.name, p.value]) : reading, expected, query)
  }
})

const queryChars = fc.constantFrom('a', 'b', '_', '=', '&', ';', '+', '%', '5', 'F', 'f', 'e', '4', 'c', '0', 'z', 'é', ' ', '[', ']')
const queries = fc.oneof(
  fc.array(queryChars, { maxLength: 40 }).map((chars) => chars.join('')),
  fc.array(fc.tuple(fc.constantFrom('all_tenants', 'all%5Ftenants', 'ALL_tenants', 'x', '_method', 'limit', ''),
    fc.constantFrom('', '=1', '=a+b', '=%2F', '=%ff'), fc.constantFrom('&', ';')), { maxLength: 6 })
    .map((parts) => parts.map(([n, v, sep]) => `${n}${v}${sep}`).join(''))
)

t.test('property: the reader agrees with webob on names, values, order and undecodable input', async (t) => {
  fc.assert(fc.property(queries, (query) => {
    const ours = readQuery(query)
    const theirs = webobPairs(query)
    if (theirs === 'UnicodeDecodeError') return ours.kind === 'undecodable'
    return ours.kind === 'read' && JSON.stringify(ours.parameters.map((p) => [p.name, p.value])) === JSON.stringify(theirs)
  }), { numRuns: 5000 })
  t.pass('agrees')
})

t.test('property: stripping removes exactly the named pairs and leaves every other pair as webob read it', async (t) => {
  const names = new Set(['all_tenants', 'all_projects'])
  fc.assert(fc.property(queries, (query) => {
    const reading = readQuery(query)
    if (reading.kind !== 'read') return true
    const drop = parametersNamed(reading, names)
    const kept = withoutParameters(query, drop)
    const after = webobPairs(kept)
    if (after === 'UnicodeDecodeError') return false
    const expected = reading.parameters.filter((p) => !names.has(securityName(p.name))).map((p) => [p.name, p.value])
    return JSON.stringify(after) === JSON.stringify(expected) && (drop.length > 0 || kept === query)
  }), { numRuns: 5000 })
  t.pass('strips exactly')
})

t.test('security names: any case, surrounding spaces, qs bracket forms', async (t) => {
  for (const name of ['all_tenants', 'ALL_TENANTS', ' all_tenants ', 'all_tenants[]', 'all_tenants[0]', 'All_Tenants[x][y]']) {
    t.equal(securityName(name), 'all_tenants', name)
  }
  t.equal(securityName('all_tenantsx'), 'all_tenantsx')
})

t.test('withoutCrossProjectParams keeps the path and the other parameters byte for byte', async (t) => {
  t.equal(withoutCrossProjectParams('/v3/p/snapshots?limit=5;all_tenants=1&marker=%41'), '/v3/p/snapshots?limit=5&marker=%41')
  t.equal(withoutCrossProjectParams('/v3/p/snapshots?all_projects'), '/v3/p/snapshots')
  t.equal(withoutCrossProjectParams('/v3/p/snapshots?limit=1'), undefined)
  t.equal(withoutCrossProjectParams('/v3/p/snapshots'), undefined)
})

t.test('withoutCrossProjectKeys scrubs a parsed query, keeping its prototype', async (t) => {
  const parsed = Object.assign(Object.create(null) as Record<string, unknown>,
    { limit: '5;all_tenants=1', 'all_tenants[]': ['1'], All_Projects: '1', name: ['a', 'b;all_projects=1'], n: 2 })
  const scrubbed = withoutCrossProjectKeys(parsed)
  t.same({ ...scrubbed }, { limit: '5', name: ['a', 'b'], n: 2 })
  t.equal(Object.getPrototypeOf(scrubbed), null)
})
