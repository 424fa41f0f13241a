// Owns the method-override and body-type reading: what would make the backend route a request with another
// method (Routes' `_method` in the query or a form body, the override headers) and which body type it reads.
// Reasons decided here: `method-override`, `malformed-body` (form bodies, several Content-Type headers).
import { parametersNamed, type QueryParameters } from './query.js'

/** Headers as the adapters hand them over (Node's parsed headers, or several values for one name). */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

const METHOD_PARAMETER: ReadonlySet<string> = new Set(['_method'])

/** Several Content-Type headers: Node keeps the first, eventlet's environ the last. */
export const SEVERAL_CONTENT_TYPES = Symbol('several Content-Type headers')

export interface HeaderFacts {
  /** The method-override header present, as `<name> header`. */
  readonly override: string | undefined
  /** The Content-Type's media type, lower-cased, without parameters; SEVERAL_CONTENT_TYPES for several. */
  readonly contentType: string | typeof SEVERAL_CONTENT_TYPES | undefined
}

const NO_HEADER_FACTS: HeaderFacts = Object.freeze({ override: undefined, contentType: undefined })
const CONTENT_TYPE = 'content-type'
/** The override header names by length (their lengths differ), with the answer each gives. */
const OVERRIDES: ReadonlyMap<number, { readonly name: string, readonly answer: string }> = new Map(
  ['x-http-method-override', 'x-http-method', 'x-method-override'].map((name) => [name.length, { name, answer: `${name} header` }])
)

/**
 * Whether `name`, lower-cased, is `lower` (an ASCII name of the same length). Folding A-Z is enough: the only
 * other characters toLowerCase() turns into ASCII are `İ` (into two characters, so the length differs) and the
 * Kelvin sign (into `k`, which none of the names holds). No string is allocated.
 */
function isNamed (name: string, lower: string): boolean {
  if (name === lower) return true
  for (let i = 0; i < lower.length; i++) {
    let c = name.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) c |= 0x20
    if (c !== lower.charCodeAt(i)) return false
  }
  return true
}

// The last Content-Type read and what it read as: a client repeats its own (strings are immutable, so a hit is exact).
let lastType = ''
let lastFacts: HeaderFacts = NO_HEADER_FACTS

/**
 * One pass over the header names: method-override headers and the Content-Type. Names are compared
 * case-insensitively (not every caller lower-cases them); a name of another length is skipped unread.
 */
export function scanHeaders (headers: RequestHeaders | undefined): HeaderFacts {
  if (headers === undefined) return NO_HEADER_FACTS
  let override: string | undefined
  let type: string | readonly string[] | undefined
  let types = 0
  for (const name in headers) {
    const length = name.length
    if (length === 12) {
      if (!isNamed(name, CONTENT_TYPE)) continue
      const value = headers[name]
      if (value === undefined) continue
      type = value
      types++
    } else if (override === undefined && (length === 13 || length === 17 || length === 22)) {
      // OVERRIDES holds one entry for each of the lengths 13, 17 and 22.
      const candidate = OVERRIDES.get(length) as { readonly name: string, readonly answer: string }
      if (isNamed(name, candidate.name) && headers[name] !== undefined) override = candidate.answer
    }
  }
  if (type === undefined) return override === undefined ? NO_HEADER_FACTS : { override, contentType: undefined }
  if (types > 1 || (typeof type !== 'string' && type.length !== 1)) return { override, contentType: SEVERAL_CONTENT_TYPES }
  const text = typeof type === 'string' ? type : type[0] ?? ''
  if (override === undefined && text === lastType) return lastFacts
  const semicolon = text.indexOf(';')
  const facts: HeaderFacts = { override, contentType: (semicolon === -1 ? text : text.slice(0, semicolon)).trim().toLowerCase() }
  if (override === undefined) {
    lastType = text
    lastFacts = Object.freeze(facts)
  }
  return facts
}

/**
 * Routes' method override (RoutesMiddleware, use_method_override=True): when the RAW query string contains
 * `_method`, `req.GET.get('_method')` becomes the method the route is matched with. Refused when the raw query
 * mentions it at all, or any parameter name reads as `_method` in any spelling.
 */
export function queryOverride (rawQuery: string, query: QueryParameters): string | undefined {
  if (rawQuery === '') return undefined
  const named = query.parameters.length > 0 && parametersNamed(query, METHOD_PARAMETER).length > 0
  return named || rawQuery.includes('_method') ? '_method query parameter' : undefined
}

/** Bodies Routes reads `_method` from (RoutesMiddleware is_form_post: urlencoded and multipart forms). */
export function isFormType (type: string): boolean {
  return type === 'application/x-www-form-urlencoded' || type.startsWith('multipart/')
}

/** `application/json` and structured `+json` types (RFC 6839). */
export function isJsonType (type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}
