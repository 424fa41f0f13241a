// Route templates in the docs' syntax (`/v2/{project_id}/snapshots/{snapshot_id}`).
// Invariants of a parsed template: starts with `/`, no empty segments, every segment is either
// canonical static text or exactly one whole-segment parameter, parameter names are unique.
import { parse, type Token } from 'path-to-regexp'

/** One segment of a parsed template. */
export type TemplateSegment =
  | { readonly kind: 'static', readonly value: string }
  | { readonly kind: 'param', readonly name: string }

/** Static text must be canonical: only RFC 3986 unreserved characters, so no spelling can alias it. */
const STATIC_SEGMENT = /^[A-Za-z0-9._~-]+$/
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const BRACED_PARAM = /\{([^{}]*)\}/g
/** Object.prototype names: parameters land in plain objects, so these can never be parameter names. */
const RESERVED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype))

/** Result of parsing: the segments, or every problem found. */
export type ParsedTemplate =
  | { readonly ok: true, readonly segments: readonly TemplateSegment[] }
  | { readonly ok: false, readonly problems: readonly string[] }

/**
 * Parses a `{name}` template. path-to-regexp validates the syntax (after `{name}` becomes `:name`,
 * since in its syntax braces are optional groups); we then insist on one parameter per segment.
 */
export function parseTemplate (template: string): ParsedTemplate {
  if (typeof template !== 'string' || !template.startsWith('/')) {
    return { ok: false, problems: ['must be a string starting with "/"'] }
  }
  const problems: string[] = []
  if (template.includes(':') || template.includes('*')) {
    problems.push('must not contain ":" or "*" (wildcards are not allowed; parameters are written {name})')
  }
  for (const [, name] of template.matchAll(BRACED_PARAM)) {
    if (!PARAM_NAME.test(name ?? '')) problems.push(`parameter name "${name ?? ''}" must match ${PARAM_NAME.source}`)
    else if (RESERVED_NAMES.has(name ?? '')) problems.push(`parameter name "${name ?? ''}" is reserved`)
  }
  if (problems.length > 0) return { ok: false, problems }

  let tokens: readonly Token[]
  try {
    tokens = parse(template.replace(BRACED_PARAM, ':$1')).tokens
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] }
  }
  const segments = segmentsOf(tokens, problems)
  const names = segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []))
  for (const name of new Set(names)) {
    if (names.indexOf(name) !== names.lastIndexOf(name)) problems.push(`parameter {${name}} appears more than once`)
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, segments }
}

function segmentsOf (tokens: readonly Token[], problems: string[]): TemplateSegment[] {
  // Lay the tokens out segment by segment: each segment collects the tokens between two slashes.
  const pieces: Token[][] = [[]]
  for (const token of tokens) {
    if (token.type !== 'text') {
      pieces.at(-1)?.push(token)
      continue
    }
    const parts = token.value.split('/')
    parts.forEach((part, index) => {
      if (index > 0) pieces.push([])
      if (part !== '') pieces.at(-1)?.push({ type: 'text', value: part })
    })
  }
  // The template starts with "/", so the first piece is the empty text before it.
  pieces.shift()
  const segments: TemplateSegment[] = []
  pieces.forEach((piece, index) => {
    const position = `segment ${index + 1}`
    const [first] = piece
    if (first === undefined) {
      problems.push(`${position} is empty (no "//" and no trailing "/")`)
    } else if (piece.length > 1) {
      problems.push(`${position} has more than one part; a parameter must be the whole segment and only one parameter per segment is allowed`)
    } else if (first.type === 'param') {
      segments.push({ kind: 'param', name: first.name })
    } else if (first.type === 'text') {
      if (STATIC_SEGMENT.test(first.value) && first.value !== '.' && first.value !== '..') {
        segments.push({ kind: 'static', value: first.value })
      } else {
        problems.push(`${position} "${first.value}" must be canonical: RFC 3986 unreserved characters only, not a dot segment`)
      }
    } else {
      problems.push(`${position} uses a ${first.type}, which is not allowed`)
    }
  })
  return segments
}

/** The template in path-to-regexp syntax (`:name`), e.g. for find-my-way or `match()`. */
export function toColonSyntax (template: string): string {
  return template.replace(BRACED_PARAM, ':$1')
}
