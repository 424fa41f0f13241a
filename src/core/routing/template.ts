// Route templates in the docs' syntax (`/v2/{project_id}/snapshots/{snapshot_id}`), read by our own parser so that
// every error is stated in that syntax, with the segment and offset it concerns (path-to-regexp is only the tests' oracle).
// Invariants of a parsed template: starts with `/`, no empty segments, every segment is either canonical static text
// or exactly one whole-segment parameter, parameter names are valid, unique and not Object.prototype names.
// One left-to-right pass, so the cost is linear in the template's length.

/** One segment of a parsed template. */
export type TemplateSegment =
  | { readonly kind: 'static', readonly value: string }
  | { readonly kind: 'param', readonly name: string }

/** Static text must be canonical: only RFC 3986 unreserved characters, so no spelling can alias it. */
const STATIC_SEGMENT = /^[A-Za-z0-9._~-]+$/
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Object.prototype names: parameters land in plain objects, so these can never be parameter names. */
const RESERVED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype))

/** Result of parsing: the segments, or every problem found. */
export type ParsedTemplate =
  | { readonly kind: 'parsed', readonly segments: readonly TemplateSegment[] }
  | { readonly kind: 'invalid', readonly problems: readonly string[] }

/** Parses a `{name}` template; on failure lists every problem, each naming its segment (1-based) and offset (0-based). */
export function parseTemplate (template: unknown): ParsedTemplate {
  if (typeof template !== 'string' || !template.startsWith('/')) {
    return { kind: 'invalid', problems: ['must be a string starting with "/"'] }
  }
  const problems: string[] = []
  const segments: TemplateSegment[] = []
  const names = new Set<string>()
  let start = 1
  for (let number = 1; ; number++) {
    const slash = template.indexOf('/', start)
    const end = slash < 0 ? template.length : slash
    const segment = readSegment(template, start, end, `segment ${number}`, problems)
    if (segment?.kind === 'param') {
      if (names.has(segment.name)) problems.push(`parameter {${segment.name}} appears more than once`)
      names.add(segment.name)
    }
    if (segment !== undefined) segments.push(segment)
    if (slash < 0) break
    start = slash + 1
  }
  return problems.length > 0 ? { kind: 'invalid', problems } : { kind: 'parsed', segments }
}

/** Reads template[start, end) as one segment; pushes its problems and returns undefined when it has any. */
function readSegment (template: string, start: number, end: number, position: string, problems: string[]): TemplateSegment | undefined {
  const text = template.slice(start, end)
  if (text === '') {
    problems.push(`${position} is empty (no "//" and no trailing "/")`)
    return undefined
  }
  const at = `${position} "${text}"`
  const before = problems.length
  let parameters = 0
  let open = -1
  for (let offset = start; offset < end; offset++) {
    const char = template[offset]
    if (char === '{') {
      if (open >= 0) problems.push(`${at}: "{" at offset ${offset} opens a parameter inside the parameter opened at offset ${open}`)
      open = offset
    } else if (char === '}') {
      if (open < 0) problems.push(`${at}: "}" at offset ${offset} closes no parameter`)
      else parameters++
      open = -1
    } else if (char === '\\') {
      problems.push(`${at}: backslash at offset ${offset} is not allowed (this syntax has no escapes)`)
    } else if (char === ':' || char === '*') {
      problems.push(`${at}: "${char}" at offset ${offset} is not allowed (wildcards are not allowed; parameters are written {name})`)
    }
  }
  if (open >= 0) problems.push(`${at}: unclosed "{" at offset ${open}`)
  if (problems.length > before) return undefined

  if (parameters === 0) {
    if (STATIC_SEGMENT.test(text) && text !== '.' && text !== '..') return { kind: 'static', value: text }
    problems.push(`${at} must be canonical: RFC 3986 unreserved characters only, not a dot segment`)
    return undefined
  }
  if (parameters > 1 || !text.startsWith('{') || !text.endsWith('}')) {
    problems.push(`${at} has more than one part; a parameter must be the whole segment and only one parameter per segment is allowed`)
    return undefined
  }
  const name = text.slice(1, -1)
  if (!PARAM_NAME.test(name)) problems.push(`${at}: parameter name "${name}" must match ${PARAM_NAME.source}`)
  else if (RESERVED_NAMES.has(name)) problems.push(`${at}: parameter name "${name}" is reserved`)
  return problems.length > before ? undefined : { kind: 'param', name }
}

/** A valid template in path-to-regexp syntax (`:name`), for tools that speak it (find-my-way, the benchmarks). */
export function toColonSyntax (template: string): string {
  const parsed = parseTemplate(template)
  if (parsed.kind === 'invalid') throw new TypeError(`not a valid template: ${template}`)
  return parsed.segments.map((s) => (s.kind === 'static' ? `/${s.value}` : `/:${s.name}`)).join('')
}
