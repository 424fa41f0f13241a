// The one query reader: parameters exactly as the backend reads them. Cinder's stack reads QUERY_STRING
// with webob 1.8 (`webob.compat.parse_qsl_text`): split on `&` AND `;`, empty pairs skipped, `+` is a space,
// split on the first `=`, names and values percent-decoded to bytes, then decoded as strict UTF-8; the
// controller's `req.GET.get(name)` takes the LAST of duplicate values. Routes' method override looks for
// the literal `_method` in the raw query string. Every security decision about the query (method override,
// cross-project parameters, enterprise projects) uses this reader, so the gate and the backend agree.
import { hexValue } from './path-gate.js'

/** One parameter: its decoded name and value, and its raw pair (without separators) in the query. */
export interface QueryParameter {
  readonly name: string
  readonly value: string
  /** Offsets of the raw `name=value` text in the query string. */
  readonly start: number
  readonly end: number
}

export type QueryReading =
  | { readonly kind: 'read', readonly parameters: readonly QueryParameter[] }
  /** A name or value is not valid UTF-8 once decoded: the backend fails on it, we refuse it. */
  | { readonly kind: 'undecodable', readonly at: number }

/** A query the backend can read: its parameters. */
export type QueryParameters = Extract<QueryReading, { kind: 'read' }>

const NO_PARAMETERS: QueryReading = Object.freeze({ kind: 'read', parameters: Object.freeze([]) })
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const utf8 = new TextEncoder()

/** Reads a raw query string (without the `?`) the way webob does. Linear in its length. */
export function readQuery (query: string): QueryReading {
  if (query === '') return NO_PARAMETERS
  const parameters: QueryParameter[] = []
  let start = 0
  for (let i = 0; i <= query.length; i++) {
    const c = i < query.length ? query.charCodeAt(i) : 0x26
    if (c !== 0x26 && c !== 0x3b) continue
    if (i > start) {
      const equals = query.indexOf('=', start)
      const split = equals === -1 || equals > i ? i : equals
      const name = decodeComponent(query, start, split)
      const value = split === i ? '' : decodeComponent(query, split + 1, i)
      if (name === undefined || value === undefined) return { kind: 'undecodable', at: start }
      parameters.push({ name, value, start, end: i })
    }
    start = i + 1
  }
  return { kind: 'read', parameters }
}

/** `+` as space, `%XX` as a byte (a bad escape stays literal, as urllib's unquote leaves it), strict UTF-8. */
function decodeComponent (query: string, from: number, to: number): string | undefined {
  let plain = true
  for (let i = from; i < to; i++) {
    const c = query.charCodeAt(i)
    if (c === 0x25 || c === 0x2b || c > 0x7f) {
      plain = false
      break
    }
  }
  if (plain) return query.slice(from, to)
  const bytes: number[] = []
  for (let i = from; i < to; i++) {
    const c = query.charCodeAt(i)
    if (c === 0x2b) {
      bytes.push(0x20)
    } else if (c === 0x25 && i + 2 < to && hexValue(query.charCodeAt(i + 1)) >= 0 && hexValue(query.charCodeAt(i + 2)) >= 0) {
      bytes.push(hexValue(query.charCodeAt(i + 1)) * 16 + hexValue(query.charCodeAt(i + 2)))
      i += 2
    } else if (c <= 0xff) {
      // A WSGI environ carries the request target as Latin-1 text: each character is one byte.
      bytes.push(c)
    } else {
      // Only a caller of the core API can pass characters above U+00FF: read them as their UTF-8 bytes.
      for (const b of utf8.encode(String.fromCharCode(c))) bytes.push(b)
    }
  }
  try {
    return strictUtf8.decode(Uint8Array.from(bytes))
  } catch {
    return undefined
  }
}

/**
 * How names are compared for security decisions: stricter than the backend (which compares exactly), so
 * every spelling a more lenient reader might accept counts: any case, surrounding spaces, and the bracket
 * forms of qs-style parsers (`all_tenants[]`, `all_tenants[0]`), which Express handlers read as the name.
 */
export function securityName (name: string): string {
  const bracket = name.indexOf('[')
  return (bracket === -1 ? name : name.slice(0, bracket)).trim().toLowerCase()
}

/** The parameters whose security name is in `names`. */
export function parametersNamed (reading: QueryParameters, names: ReadonlySet<string>): QueryParameter[] {
  return reading.parameters.filter((p) => names.has(securityName(p.name)))
}

/**
 * The query without the given parameters: their whole raw pairs are removed with one adjacent separator,
 * every other byte (and separator) kept as it was, so the backend reads the rest exactly as before.
 */
export function withoutParameters (query: string, drop: readonly QueryParameter[]): string {
  if (drop.length === 0) return query
  const dropped = new Set(drop.map((p) => p.start))
  const kept: string[] = []
  let start = 0
  for (let i = 0; i <= query.length; i++) {
    if (i < query.length && query.charCodeAt(i) !== 0x26 && query.charCodeAt(i) !== 0x3b) continue
    // Each kept pair keeps the separator before it; the first kept pair has none.
    if (!dropped.has(start) || i === start) kept.push(kept.length === 0 ? query.slice(start, i) : query.slice(start - 1, i))
    start = i + 1
  }
  return kept.join('')
}
