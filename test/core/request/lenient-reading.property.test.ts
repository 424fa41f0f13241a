// The gate's loosest reading of a path (src/core/request/path-gate.ts lenientReading) asks two of its three
// questions (is any segment `..`, is any segment a version) of the folded text with native patterns instead of a
// hand-written segment loop. Oracle: that loop, kept here as the definition of a segment (split at `/` and `\`,
// cut at the first `;`, trimmed as String.prototype.trim() trims, empty and `.` dropped); both must agree on
// every generated path, hostile spellings included.
import * as assert from 'node:assert/strict'
import t from 'tap'
import fc from 'fast-check'
import { lenientReading, versionSegmentPattern } from '../../../src/core/request/path-gate.js'

/** Segments of the folded text by the hand-written definition. */
function segmentsOf (text: string): string[] {
  const segments: string[] = []
  for (const raw of text.split(/[/\\]/)) {
    const cut = raw.indexOf(';')
    const segment = (cut === -1 ? raw : raw.slice(0, cut)).trim()
    if (segment !== '' && segment !== '.') segments.push(segment)
  }
  return segments
}

interface Reading { leading: string[], hasDots: boolean, hasVersion: boolean }

/** The reading by the definition, given the text lenientReading folds the path into. */
function expected (folded: string, keep: number, versions: readonly string[]): Reading {
  const segments = segmentsOf(folded)
  return { leading: segments.slice(0, keep), hasDots: segments.includes('..'), hasVersion: segments.some((s) => versions.includes(s)) }
}

/** The folding lenientReading applies (decoding aside): tested on paths without `%`, where decoding is a no-op. */
function fold (path: string): string {
  const text = /[\u0080-\uffff]/.test(path) ? path.normalize('NFKC') : path
  return /[\u0080-\uffff]/.test(text) ? text.toUpperCase().toLowerCase() : text.toLowerCase()
}

const VERSION_SETS: ReadonlyArray<readonly string[]> = [['v2', 'v3'], ['v2', 'v3', 'v2.1', 'api'], ['evs', 'v2', 'v3']]
const WHITESPACE = ['\t', '\n', '\u000b', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f',
  '\u205f', '\u3000', '\ufeff']
const piece = fc.oneof(
  fc.constantFrom('/', '\\', ';', '.', '..', 'v2', 'V3', 'v2.1', 'api', 'evs', 'x', 'v', '2', 'ｖ２', '／', '；', 'ſ', 'K', 'İ'),
  fc.constantFrom(...WHITESPACE),
  fc.string({ maxLength: 3 })
)
const path = fc.array(piece, { maxLength: 14 }).map((parts) => parts.join('').replaceAll('%', ''))

t.test('the native questions agree with the segment loop on every generated path', async () => {
  for (const versions of VERSION_SETS) {
    const pattern = versionSegmentPattern(versions)
    fc.assert(fc.property(path, fc.integer({ min: 1, max: 3 }), (p, keep) => {
      const reading = lenientReading(p, keep, pattern)
      assert.deepEqual({ ...reading, leading: [...reading.leading] }, expected(fold(p), keep, versions), JSON.stringify(p))
    }), { numRuns: 3000 })
  }
})

t.test('`\\s` in the patterns is exactly what String.prototype.trim() removes', async () => {
  const whitespace = /\s/
  for (let c = 0; c <= 0xffff; c++) {
    const char = String.fromCharCode(c)
    if (whitespace.test(char) !== (char.trim() === '')) assert.fail(`U+${c.toString(16).padStart(4, '0')}`)
  }
})

t.test('decoded spellings count: nested escapes, overlong UTF-8, fullwidth letters, separators', async () => {
  const pattern = versionSegmentPattern(['v2', 'v3'])
  const cases: ReadonlyArray<readonly [string, boolean, boolean]> = [
    // [path, hasDots, hasVersion]
    ['/x/%252e%252e/y', true, false],
    ['/x/%c0%ae%c0%ae/y', true, false],
    ['/x/%ef%bd%963/y', false, true],
    ['/x%2f..%5cv2', true, true],
    ['/x/ .. ;a/V2 ;b', true, true],
    ['/x/...;/v22', false, false]
  ]
  for (const [p, dots, version] of cases) {
    const reading = lenientReading(p, 1, pattern)
    assert.equal(reading.hasDots, dots, `${p}: dots`)
    assert.equal(reading.hasVersion, version, `${p}: version`)
  }
})
