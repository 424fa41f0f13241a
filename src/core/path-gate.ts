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
 * Longest target that gets the lenient reading. Longer ones that could reach the guarded space are refused
 * before it runs, so its cost stays bounded (eventlet refuses request lines over 8192 bytes anyway).
 */
export const MAX_GUARDED_TARGET_LENGTH = 8192

/** The built-in table's API versions; a table adds the first segments of its own templates. */
export const DEFAULT_VERSIONS: readonly string[] = ['v2', 'v3']

/** Segments of RAW_ALLOWED characters, none of them `.` or `..`, no escapes: canonical by construction. */
const PLAIN_CANONICAL = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)+$/

// RFC 3986 pchar without ";" (a path-parameter delimiter to some servers): unreserved, sub-delims, ":", "@".
const RAW_ALLOWED = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&\'()*+,=:@') RAW_ALLOWED[c.charCodeAt(0)] = 1
const UNRESERVED = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1

/** A compiled gate for one prefix (`''` or `/evs`, canonical, no trailing slash). */
export interface PathGate {
  inspect (target: string): PathInspection
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
  const mentionsVersion = (segments: readonly string[]): boolean => segments.some((s) => versions.has(s))
  const startsGuarded = (segments: readonly string[]): boolean =>
    prefixSegments.every((s, i) => segments[i] === s) && versions.has(segments[prefixSegments.length] ?? '')
  // The loosest readings: with dots resolved, with dots dropped, and traversal next to a version anywhere
  // (a proxy that strips the prefix may let `..` escape it).
  const maybeGuarded = (target: string): boolean => {
    const query = target.indexOf('?')
    const path = query === -1 ? target : target.slice(0, query)
    if (!mention.test(path)) return false
    const segments = lenientSegments(path)
    return startsGuarded(resolveDots(segments)) || startsGuarded(segments.filter((s) => s !== '..')) ||
      (segments.includes('..') && mentionsVersion(segments))
  }
  const isCanonicallyGuarded = (target: string, end: number): boolean =>
    (plainFastPath && isPlainV2orV3(target, end, prefix)) || (extraVersions.length > 0 && target.startsWith(prefix) && target.charCodeAt(prefix.length) === 0x2f &&
      versions.has(foldCase(target.slice(prefix.length + 1, nextSlash(target, prefix.length + 1, end)))))
  return {
    inspect (target) {
      const question = target.indexOf('?')
      const hash = target.indexOf('#')
      const end = hash === -1 ? (question === -1 ? target.length : question) : question === -1 ? hash : Math.min(question, hash)
      // Logged paths never carry the query or fragment (an absolute-form target may hold a token there).
      const path = end === target.length ? target : target.slice(0, end)
      if (target.length > MAX_GUARDED_TARGET_LENGTH && mention.test(path)) return { kind: 'malformed', problem: 'too-long', path }
      if (target.charCodeAt(0) !== 0x2f) {
        return mentionsVersion(lenientSegments(lenientPath(target)))
          ? { kind: 'malformed', problem: 'not-origin-form', path }
          : { kind: 'outside' }
      }
      if (!isCanonicallyGuarded(target, end) && !maybeGuarded(target)) {
        // `//host/v2/...` or `/\host/v2/...`: a forwarder that resolves the target as a URL (WHATWG) reads the
        // first segment as an authority and sends the rest, `/v2/...`, to the backend.
        const c = target.charCodeAt(1)
        return (c === 0x2f || c === 0x5c) && mentionsVersion(lenientSegments(path))
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

/**
 * The loosest reading any backend might apply: escapes decoded (repeatedly, overlong UTF-8 included),
 * `\` as `/`, `;params` cut, Unicode compatibility forms and case folded. Empty and `.` segments dropped.
 */
function lenientSegments (path: string): string[] {
  let decoded = path
  for (let pass = 0; pass < 3 && decoded.includes('%'); pass++) decoded = lenientDecode(decoded)
  const segments: string[] = []
  for (const raw of decoded.replaceAll('\\', '/').split('/')) {
    const segment = foldCase(raw.split(';')[0]?.trim() ?? '')
    if (segment !== '' && segment !== '.') segments.push(segment)
  }
  return segments
}

function resolveDots (segments: readonly string[]): string[] {
  const resolved: string[] = []
  for (const segment of segments) {
    if (segment === '..') resolved.pop()
    else resolved.push(segment)
  }
  return resolved
}

/** Case-insensitive comparison the way lenient servers do it (NFKC, then upper then lower: `ſ` is `s`). */
export function foldCase (text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase()
}

function lenientPath (target: string): string {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:[\\/]{2}[^/\\?#]*/.exec(target)
  const rest = absolute === null ? `/${target}` : target.slice(absolute[0].length)
  return rest.split('?')[0] ?? ''
}

// Decodes %XX runs as UTF-8 without validation, so overlong forms (%c0%ae, %e0%80%ae) become the
// ASCII a lax decoder would see; stray bytes become Latin-1 characters.
function lenientDecode (s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = run.slice(1).split('%').map((h) => parseInt(h, 16))
    let out = ''
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number
      const need = b >= 0xf0 && b <= 0xf7 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0
      const tail = bytes.slice(i + 1, i + 1 + need)
      if (need > 0 && tail.length === need && tail.every((c) => c >= 0x80 && c <= 0xbf)) {
        let codePoint = b & (0x3f >> need)
        for (const c of tail) codePoint = (codePoint << 6) | (c & 0x3f)
        out += codePoint <= 0x10ffff && (codePoint < 0xd800 || codePoint > 0xdfff) ? String.fromCodePoint(codePoint) : '\ufffd'
        i += need
      } else {
        out += String.fromCharCode(b)
      }
    }
    return out
  })
}

function hexValue (c: number): number {
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
      if (path.charCodeAt(segmentStart) === 0x2e && (length === 1 || (length === 2 && path.charCodeAt(segmentStart + 1) === 0x2e))) return 'dot-segment'
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
