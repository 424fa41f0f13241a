// `*` globs (IAM action patterns, StringMatch conditions) matched without a regex: the pattern is split on
// `*` once, then the first part must be a prefix, the last a suffix, and the parts between are found left
// to right (leftmost is always safe for `*`-only globs). No backtracking: the cost is bounded by the value's
// length times the number of parts, and both are capped (GLOB_LIMITS), so a tenant's policy can never
// stall the event loop.

/** What a glob may carry; over these the statement holding it is unevaluable (an Allow never applies). */
export const GLOB_LIMITS = Object.freeze({
  /** `*` characters in one pattern. */
  wildcards: 32,
  /** Characters in one pattern. */
  length: 1024
})

export type GlobMatcher = (value: string) => boolean

const matchAny: GlobMatcher = () => true

/** Whether `glob` is within GLOB_LIMITS. */
export function globWithinLimits (glob: string): boolean {
  if (glob.length > GLOB_LIMITS.length) return false
  let stars = 0
  for (let i = 0; i < glob.length; i++) if (glob.charCodeAt(i) === 0x2a && ++stars > GLOB_LIMITS.wildcards) return false
  return true
}

/** Compiles a glob where `*` matches any run of characters (including none); every other character is literal. */
export function compileGlob (glob: string): GlobMatcher {
  if (!glob.includes('*')) return (value) => value === glob
  if (glob === '*') return matchAny
  const parts = glob.split('*')
  const head = parts[0] ?? ''
  const tail = parts[parts.length - 1] ?? ''
  const middle = parts.slice(1, -1).filter((part) => part !== '')
  const fixed = head.length + tail.length
  if (middle.length === 0) {
    if (fixed === 0) return () => true
    return (value) => value.length >= fixed && value.startsWith(head) && value.endsWith(tail)
  }
  return (value) => {
    if (value.length < fixed || !value.startsWith(head) || !value.endsWith(tail)) return false
    const end = value.length - tail.length
    let at = head.length
    for (const part of middle) {
      const found = value.indexOf(part, at)
      if (found === -1 || found + part.length > end) return false
      at = found + part.length
    }
    return true
  }
}
