// The canonical-path gate. Decides whether a request target lies in the guarded API space
// ({prefix}/v2/..., {prefix}/v3/... under any spelling a backend might read that way) and, if so,
// accepts it only in the one canonical spelling that every backend reads the same way.

/** Why a guarded request target was rejected (answered with 400). */
export type PathProblem =
  | 'not-origin-form'
  | 'fragment'
  | 'prefix-spelling'
  | 'backslash'
  | 'semicolon'
  | 'control-character'
  | 'invalid-character'
  | 'empty-segment'
  | 'dot-segment'
  | 'bad-percent-encoding'
  | 'encoded-unreserved'
  | 'encoded-slash'
  | 'encoded-percent'
  | 'invalid-utf8'
  | 'ambiguous-segment'
  | 'authority-form'
  | 'too-long'

/** What the gate concluded about a request target. */
export type PathInspection =
  | { readonly kind: 'outside' }
  | { readonly kind: 'malformed', readonly problem: PathProblem, readonly path: string }
  /** `path` is the canonical path (no query); the template part starts at `start`. */
  | { readonly kind: 'guarded', readonly path: string, readonly start: number }

/**
 * Longest path whose lenient reading decodes escapes or folds Unicode (the decoding passes, NFKC). A longer path
 * that does not plainly start with the guarded prefix and version, could reach the guarded space (it mentions a
 * version, an escape or a backslash) and holds an escape or a non-ASCII character is refused before that reading
 * runs: those passes are what an attacker's worst path costs (`npm run bench`, section "hostile inputs"). A longer
 * path of ASCII without escapes is read: for it the reading is one lower-casing and a few native scans, so a long
 * path of another API that merely contains `v2` (`/image/v2/...`, `/files/dev2-...`) is not refused. Plainly guarded
 * paths (`/v3/...`, any length) never need the reading and are not limited by this.
 */
export const MAX_LENIENT_PATH_LENGTH = 256

/** What makes the lenient reading costly: escapes to decode (up to three passes), non-ASCII to fold (NFKC). */
const COSTLY_READING = /[%\u0080-\uffff]/

/** The built-in table's API versions; a table adds the first segments of its own templates. */
export const DEFAULT_VERSIONS: readonly string[] = ['v2', 'v3']

/** Segments of RAW_ALLOWED characters, none of them `.` or `..`, no escapes: canonical by construction. */
const PLAIN_CANONICAL = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)+$/

// RFC 3986 pchar without ";" (a path-parameter delimiter to some servers): unreserved, sub-delims, ":", "@".
const RAW_ALLOWED = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&\'()*+,=:@') RAW_ALLOWED[c.charCodeAt(0)] = 1
/** 1 for the characters a plainly canonical path may hold (RFC 3986 pchar without `;` and `%`). */
export const PLAIN_PATH_CHARS: Readonly<Uint8Array> = RAW_ALLOWED
const UNRESERVED = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1

/** A compiled gate for one prefix (`''` or `/evs`, canonical, no trailing slash). */
export interface PathGate {
  inspect (target: string): PathInspection
  /**
   * The fast path's half of the gate: for a target spelled `{prefix}/v2` or `{prefix}/v3` (lower-case, then `/`,
   * `?` or the end) with no `#`, the end of its path (the first `?`, else its length); otherwise -1. For such a
   * target, inspect() answers `guarded` with that path exactly when the path from the prefix on is plainly
   * canonical (segments of PLAIN_PATH_CHARS, none empty, `.` or `..`): what Matcher.matchPlain checks.
   */
  plainEnd (target: string): number
}

/**
 * Compiles the gate for a prefix (`''` or `/evs`) and the version segments that open the guarded space
 * (default: v2 and v3; the authorizer passes the first segment of every template in its table).
 */
export function compilePathGate (prefix: string, versionSegments: readonly string[] = DEFAULT_VERSIONS): PathGate {
  const prefixSegments = prefix.split('/').slice(1).map(foldCase)
  const versions = new Set(versionSegments.map(foldCase))
  const extraVersions = [...versions].filter((v) => v !== 'v2' && v !== 'v3')
  const plainFastPath = versions.has('v2') && versions.has('v3')
  // Any spelling that could reach a guarded version mentions it, uses escapes or a backslash.
  const mention = new RegExp([...[...versions].map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), '%', '\\\\'].join('|'), 'i')
  const versionSegment = versionSegmentPattern([...versions])
  const lenient = (path: string): LenientReading => lenientReading(path, prefixSegments.length + 1, versionSegment)
  const startsGuarded = (segments: readonly string[]): boolean =>
    prefixSegments.every((s, i) => segments[i] === s) && versions.has(segments[prefixSegments.length] ?? '')
  // The loosest readings: with dots resolved, with dots dropped, and traversal next to a version anywhere
  // (a proxy that strips the prefix may let `..` escape it). With a `..` anywhere, the first two imply the
  // third (each needs a version segment), so: dots ? a version anywhere : the leading segments are guarded.
  const maybeGuarded = (target: string): boolean => {
    const query = target.indexOf('?')
    const path = query === -1 ? target : target.slice(0, query)
    if (!mention.test(path)) return false
    const reading = lenient(path)
    return reading.hasDots ? reading.hasVersion : startsGuarded(reading.leading)
  }
  const isCanonicallyGuarded = (target: string, end: number): boolean =>
    (plainFastPath && isPlainV2orV3(target, end, prefix)) ||
    (extraVersions.length > 0 && target.startsWith(prefix) && target.charCodeAt(prefix.length) === 0x2f &&
      versions.has(foldCase(target.slice(prefix.length + 1, nextSlash(target, prefix.length + 1, end)))))
  // The prefix is part of the path inspect() checks; plainEnd() may leave it out only when it is itself plain.
  const plainPrefix = plainFastPath && (prefix === '' || PLAIN_CANONICAL.test(prefix))
  const p = prefix.length
  return {
    plainEnd (target) {
      if (!plainPrefix || target.charCodeAt(p) !== 0x2f || target.charCodeAt(p + 1) !== 0x76 || !target.startsWith(prefix)) return -1
      const n = target.charCodeAt(p + 2)
      const after = target.charCodeAt(p + 3)
      if ((n !== 0x32 && n !== 0x33) || (after !== 0x2f && after !== 0x3f && p + 3 !== target.length)) return -1
      if (target.includes('#')) return -1
      const question = target.indexOf('?', p + 3)
      return question === -1 ? target.length : question
    },
    inspect (target) {
      const question = target.indexOf('?')
      const hash = target.indexOf('#')
      const end = hash === -1 ? (question === -1 ? target.length : question) : question === -1 ? hash : Math.min(question, hash)
      // Logged paths never carry the query or fragment (an absolute-form target may hold a token there).
      const path = end === target.length ? target : target.slice(0, end)
      // Past the limit, a path whose reading would decode or fold is refused unread (see MAX_LENIENT_PATH_LENGTH).
      const tooLong = path.length > MAX_LENIENT_PATH_LENGTH
      const longAndMentioned = tooLong && mention.test(path)
      const tooLongToRead = longAndMentioned && COSTLY_READING.test(path)
      if (target.charCodeAt(0) !== 0x2f) {
        if (tooLongToRead) return { kind: 'malformed', problem: 'too-long', path }
        // A long target that mentions nothing guarded is not read at all (its Unicode would be folded for nothing).
        if (tooLong && !longAndMentioned) return { kind: 'outside' }
        return lenient(lenientPath(target)).hasVersion
          ? { kind: 'malformed', problem: 'not-origin-form', path }
          : { kind: 'outside' }
      }
      const plainlyGuarded = isCanonicallyGuarded(target, end)
      if (!plainlyGuarded && tooLongToRead) return { kind: 'malformed', problem: 'too-long', path }
      if (!plainlyGuarded && !maybeGuarded(target)) {
        // `//host/v2/...` or `/\host/v2/...`: a forwarder that resolves the target as a URL (WHATWG) reads the
        // first segment as an authority and sends the rest, `/v2/...`, to the backend.
        const c = target.charCodeAt(1)
        return (c === 0x2f || c === 0x5c) && lenient(path).hasVersion
          ? { kind: 'malformed', problem: 'authority-form', path }
          : { kind: 'outside' }
      }
      if (hash !== -1) return { kind: 'malformed', problem: 'fragment', path }
      if (!path.startsWith(prefix) || path.charCodeAt(prefix.length) !== 0x2f) {
        return { kind: 'malformed', problem: 'prefix-spelling', path }
      }
      // Hot path: a path without escapes that the one regex accepts is canonical; the scanner then
      // only runs to name the problem of paths the regex refuses (or to validate escapes).
      if (PLAIN_CANONICAL.test(path)) return { kind: 'guarded', path, start: prefix.length }
      const problem = checkCanonical(path, prefix.length)
      return problem === undefined ? { kind: 'guarded', path, start: prefix.length } : { kind: 'malformed', problem, path }
    }
  }
}

// Fast path for the common case: `{prefix}/v2/` or `{prefix}/v3/` spelled plainly (version in any case).
function isPlainV2orV3 (target: string, end: number, prefix: string): boolean {
  const p = prefix.length
  if (!target.startsWith(prefix)) return false
  const v = target.charCodeAt(p + 1)
  const n = target.charCodeAt(p + 2)
  return target.charCodeAt(p) === 0x2f && (v === 0x76 || v === 0x56) && (n === 0x32 || n === 0x33) &&
    (p + 3 === end || target.charCodeAt(p + 3) === 0x2f)
}

function nextSlash (target: string, from: number, end: number): number {
  const slash = target.indexOf('/', from)
  return slash === -1 || slash > end ? end : slash
}

/** What the loosest reading of a path says: its first segments, and whether any segment is `..` or a version. */
export interface LenientReading {
  readonly leading: readonly string[]
  readonly hasDots: boolean
  readonly hasVersion: boolean
}

/**
 * The loosest reading any backend might apply: escapes decoded (repeatedly, overlong UTF-8 included),
 * `\\` as `/`, `;params` cut, Unicode compatibility forms and case folded, segments trimmed, empty and `.`
 * segments dropped. Whether any segment is `..` or a version is asked of the folded text by two native scans
 * (VersionSegment); only the `keep` leading segments are collected by hand. An attacker's worst target stays
 * within a small factor of a plain one.
 */
export function lenientReading (path: string, keep: number, versionSegment: RegExp): LenientReading {
  let decoded = path
  for (let pass = 0; pass < 3 && decoded.includes('%'); pass++) decoded = lenientDecode(decoded)
  // Folded as a whole, then split: looser than folding segment by segment (a fullwidth `／` or `；` becomes a
  // separator, NFKC spaces are trimmed), and one Unicode pass instead of one per segment.
  let text = NON_ASCII.test(decoded) ? decoded.normalize('NFKC') : decoded
  // The upper-then-lower round trip (`ſ` is `s`) matters only where non-ASCII is left after NFKC.
  text = NON_ASCII.test(text) ? text.toUpperCase().toLowerCase() : text.toLowerCase()
  return { leading: leadingSegments(text, keep), hasDots: DOT_DOT_SEGMENT.test(text), hasVersion: versionSegment.test(text) }
}

// A segment of the loosest reading, as a pattern: after `/`, `\\` or the start; trimmed (`\s` is exactly what
// String.prototype.trim() removes); cut at its first `;`; up to the next separator or the end. Linear: a match can
// only start at a separator, and nothing before the separator class can hold one.
const SEGMENT_START = '(?:^|[/\\\\])\\s*'
const SEGMENT_END = '\\s*(?:;[^/\\\\]*)?(?=[/\\\\]|$)'
const DOT_DOT_SEGMENT = new RegExp(`${SEGMENT_START}\\.\\.${SEGMENT_END}`)

/** The pattern of a segment that reads as one of `versions` (folded), for lenientReading. */
export function versionSegmentPattern (versions: readonly string[]): RegExp {
  return new RegExp(`${SEGMENT_START}(?:${versions.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})${SEGMENT_END}`)
}

/** The first `keep` segments of the reading (cut at `;`, trimmed, empty and `.` ones dropped). */
function leadingSegments (text: string, keep: number): string[] {
  const leading: string[] = []
  let start = 0
  let cut = -1
  for (let i = 0; i <= text.length && leading.length < keep; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2f
    if (c === 0x3b && cut === -1) cut = i
    if (c !== 0x2f && c !== 0x5c) continue
    let from = start
    let to = cut === -1 ? i : cut
    while (from < to && isTrimmed(text.charCodeAt(from))) from++
    while (to > from && isTrimmed(text.charCodeAt(to - 1))) to--
    start = i + 1
    cut = -1
    const length = to - from
    if (length === 0 || (length === 1 && text.charCodeAt(from) === 0x2e)) continue
    leading.push(text.slice(from, to))
  }
  return leading
}

/** The characters String.prototype.trim() removes (ECMAScript WhiteSpace and LineTerminator). */
function isTrimmed (c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
}

const NON_ASCII = /[\u0080-\uffff]/
/** A UTF-8 lead byte (as a Latin-1 character) followed by a continuation byte: something to recombine. */
const UTF8_SEQUENCE = /[\xc0-\xf7][\x80-\xbf]/

/** Case-insensitive comparison the way lenient servers do it (NFKC, then upper then lower: `ſ` is `s`). */
export function foldCase (text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase()
}

function lenientPath (target: string): string {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:[\\/]{2}[^/\\?#]*/.exec(target)
  const rest = absolute === null ? `/${target}` : target.slice(absolute[0].length)
  return rest.split('?')[0] ?? ''
}

// Decodes %XX (and IIS-style %uXXXX) with the engine's own unescape(), then reads byte sequences as UTF-8
// without validation, so overlong forms (%c0%ae, %e0%80%ae) become the ASCII a lax decoder would see;
// stray bytes stay Latin-1 characters. Native passes keep the worst case close to a plain target's cost.
function lenientDecode (s: string): string {
  const bytes = unescape(s)
  return UTF8_SEQUENCE.test(bytes) ? laxUtf8(bytes) : bytes
}

/** Recombines Latin-1 characters that spell UTF-8 sequences (overlong forms included) into the characters. */
function laxUtf8 (s: string): string {
  // Concatenation, not an array joined at the end: V8 builds rope strings cheaply, and this runs on every
  // decoding pass of a hostile target (the worst case the bounded-cost benchmark measures).
  let out = ''
  let copied = 0
  for (let i = 0; i < s.length; i++) {
    const b = s.charCodeAt(i)
    if (b < 0xc0 || b > 0xf7) continue
    const need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1
    let codePoint = b & (0x3f >> need)
    let k = 1
    for (; k <= need; k++) {
      const c = s.charCodeAt(i + k)
      if (!(c >= 0x80 && c <= 0xbf)) break
      codePoint = (codePoint << 6) | (c & 0x3f)
    }
    if (k <= need) continue
    out = i === copied ? out + decodedCharacter(codePoint) : out + s.slice(copied, i) + decodedCharacter(codePoint)
    i += need
    copied = i + 1
  }
  return copied === 0 ? s : out + s.slice(copied)
}

/** A decoded code point as text: U+FFFD for a surrogate or anything above U+10FFFF. */
function decodedCharacter (codePoint: number): string {
  if (codePoint < 0xd800 || (codePoint > 0xdfff && codePoint < 0x10000)) return String.fromCharCode(codePoint)
  return codePoint > 0xdfff && codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\ufffd'
}

/** The value of a hex digit's character code, or -1. */
export function hexValue (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

function byteAt (path: string, i: number): number {
  if (path.charCodeAt(i) !== 0x25) return -1
  const hi = hexValue(path.charCodeAt(i + 1))
  const lo = hexValue(path.charCodeAt(i + 2))
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo
}

/** Returns the first problem in a guarded path, scanning from the `/` that ends the prefix. */
function checkCanonical (path: string, from: number): PathProblem | undefined {
  let segmentStart = from + 1
  for (let i = from + 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f
    if (c === 0x2f) {
      const length = i - segmentStart
      if (length === 0) return 'empty-segment'
      if (path.charCodeAt(segmentStart) === 0x2e && (length === 1 || (length === 2 && path.charCodeAt(segmentStart + 1) === 0x2e))) {
        return 'dot-segment'
      }
      segmentStart = i + 1
    } else if (c === 0x25) {
      const consumed = checkEscape(path, i)
      if (typeof consumed === 'string') return consumed
      i += consumed - 1
    } else if (c === 0x5c) {
      return 'backslash'
    } else if (c === 0x3b) {
      return 'semicolon'
    } else if (c < 0x20 || c === 0x7f) {
      return 'control-character'
    } else if (c >= 0x80 || RAW_ALLOWED[c] !== 1) {
      return 'invalid-character'
    }
  }
  return undefined
}

/** Validates one percent-escape (a whole UTF-8 sequence); returns the characters consumed or a problem. */
function checkEscape (path: string, i: number): number | PathProblem {
  const b = byteAt(path, i)
  if (b < 0) return 'bad-percent-encoding'
  if (b < 0x80) {
    if (UNRESERVED[b] === 1) return 'encoded-unreserved'
    if (b === 0x2f) return 'encoded-slash'
    if (b === 0x5c) return 'backslash'
    if (b === 0x3b) return 'semicolon'
    if (b === 0x25) return 'encoded-percent'
    if (b < 0x20 || b === 0x7f) return 'control-character'
    return 3
  }
  // Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
  const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0
  if (need === 0) return 'invalid-utf8'
  // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4).
  let low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
  let high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
  let codePoint = b & (0x3f >> need)
  for (let k = 1; k <= need; k++) {
    const next = byteAt(path, i + 3 * k)
    if (next < 0 && path.charCodeAt(i + 3 * k) === 0x25) return 'bad-percent-encoding'
    if (next < low || next > high) return 'invalid-utf8'
    low = 0x80
    high = 0xbf
    codePoint = (codePoint << 6) | (next & 0x3f)
  }
  if (codePoint <= 0x9f) return 'control-character'
  return 3 * (need + 1)
}
