// Owns the method-override and body-type reading: what would make the backend route a request with another
// method (Routes' `_method` in the query or a form body, the override headers) and which body type it reads.
// Reasons decided here: `method-override`, `malformed-body` (form bodies, several Content-Type headers).
import { parametersNamed, type QueryParameters } from './query.js'

/** Headers as the adapters hand them over (Node's parsed headers, or several values for one name). */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

const OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override'])
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

/**
 * One pass over the header names: method-override headers and the Content-Type. Names are compared
 * case-insensitively (not every caller lower-cases them), and only names of the right length are folded.
 */
export function scanHeaders (headers: RequestHeaders | undefined): HeaderFacts {
  if (headers === undefined) return NO_HEADER_FACTS
  let override: string | undefined
  let type: string | readonly string[] | undefined
  let types = 0
  for (const name in headers) {
    const length = name.length
    if (length !== 12 && length !== 13 && length !== 17 && length !== 22) continue
    if (headers[name] === undefined) continue
    const lower = name.toLowerCase()
    if (lower === 'content-type') {
      type = headers[name]
      types++
    } else if (override === undefined && OVERRIDE_HEADERS.has(lower)) {
      override = `${lower} header`
    }
  }
  if (type === undefined) return override === undefined ? NO_HEADER_FACTS : { override, contentType: undefined }
  if (types > 1 || (typeof type !== 'string' && type.length !== 1)) return { override, contentType: SEVERAL_CONTENT_TYPES }
  const text = typeof type === 'string' ? type : type[0] ?? ''
  const semicolon = text.indexOf(';')
  return { override, contentType: (semicolon === -1 ? text : text.slice(0, semicolon)).trim().toLowerCase() }
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
