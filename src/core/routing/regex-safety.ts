// Screens user-supplied regular expressions (the `projectIdPattern` option, route `params` patterns) for catastrophic
// backtracking before the matcher runs them on request data. One walk over the syntax tree of ret (the tokenizer
// safe-regex2 uses; installed with fastify) refuses the shapes that backtrack exponentially:
// - a variable quantifier inside a repeated group: (a+)+, (\w+\s?)*, (a?){26} (an optional group, max 1, does not count);
// - a repeated group whose alternatives can start with the same character: (a|a)*, (\w|\d)+, which safe-regex2 misses;
// - more than 25 variable quantifiers (a?a?a?...aaa), safe-regex2's limit.
// The check is conservative (some safe patterns are refused) and linear in the pattern; a refused pattern can always
// be rewritten, e.g. with a character class instead of an alternation.
import ret, { reconstruct, types, type Root, type Token } from 'ret'

/** ret's CommonJS module.exports is the tokenizer itself; its typings describe the ES namespace instead. */
const tokenize = ret as unknown as (source: string) => Root

type CharRanges = ReadonlyArray<readonly [number, number]>
interface Flags { readonly ignoreCase: boolean, readonly dotAll: boolean }
const MAX_CODE_POINT = 0x10FFFF
const ANY: CharRanges = [[0, MAX_CODE_POINT]]
const MAX_VARIABLE_QUANTIFIERS = 25

/**
 * What makes `projectIdPattern` unusable, or undefined: a `g` or `y` flag (test() would carry lastIndex from one request
 * to the next, so one value would match and fail by turns) or a backtracking risk. Route `params` refuse those flags too.
 */
export function projectIdPatternProblem (pattern: RegExp): string | undefined {
  if (pattern.global || pattern.sticky) return `has the ${pattern.global ? 'g' : 'y'} flag: its test() would depend on the request before`
  return backtrackingRisk(pattern)
}

/** Why `pattern` may backtrack catastrophically, or undefined when it passes the check. */
export function backtrackingRisk (pattern: RegExp): string | undefined {
  // The check reads `source` and `flags`; an own property (or a subclass) could show it one pattern and test another.
  if (Object.getPrototypeOf(pattern) !== RegExp.prototype || Reflect.ownKeys(pattern).some((key) => key !== 'lastIndex')) {
    return 'is not a plain RegExp (a subclass or own properties could hide what it matches); pass a RegExp literal'
  }
  if (pattern.flags.includes('v')) return 'uses the v flag, whose set syntax this check cannot read; write it with the u flag'
  let tree: Root
  try {
    tree = tokenize(pattern.flags.includes('u') ? anyForPropertyEscapes(pattern.source) : pattern.source)
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    return `cannot be checked for catastrophic backtracking (${why}); lookbehind is not supported`
  }
  const walk = new Walk({ ignoreCase: pattern.flags.includes('i'), dotAll: pattern.flags.includes('s') })
  const risk = walk.visit(tree, false)
  if (risk !== undefined) return `may backtrack catastrophically: ${risk}`
  return walk.variableQuantifiers > MAX_VARIABLE_QUANTIFIERS
    ? `may backtrack catastrophically: more than ${MAX_VARIABLE_QUANTIFIERS} variable quantifiers (${walk.variableQuantifiers})`
    : undefined
}

class Walk {
  variableQuantifiers = 0

  constructor (private readonly flags: Flags) {}

  /** The first risky shape in `token`; `repeated` says whether an enclosing quantifier can match more than once. */
  visit (token: Root | Token, repeated: boolean): string | undefined {
    if (token.type === types.REPETITION) {
      if (token.min !== token.max) {
        this.variableQuantifiers++
        if (repeated) return `the quantifier in ${reconstruct(token)} sits inside a repeated group, as in (a+)+`
      }
      return this.visit(token.value, repeated || token.max > 1)
    }
    if (token.type !== types.ROOT && token.type !== types.GROUP) return undefined
    const options = token.options ?? [token.stack ?? []]
    if (repeated && options.length > 1) {
      const firsts = options.map((option) => firstOf(option, this.flags).chars)
      for (let i = 0; i < firsts.length; i++) {
        for (let j = i + 1; j < firsts.length; j++) {
          if (intersects(firsts[i] ?? [], firsts[j] ?? [])) {
            const group = reconstruct(token)
            return `alternatives ${i + 1} and ${j + 1} of the repeated group ${group} can start with the same character, as in (a|a)*`
          }
        }
      }
    }
    for (const option of options) {
      for (const item of option) {
        const risk = this.visit(item, repeated)
        if (risk !== undefined) return risk
      }
    }
    return undefined
  }
}

/**
 * ret reads `\p{L}` as the letters p, {, L, }. For the overlap check a property escape may be any character, so it
 * becomes `[\s\S]` (inside a class: `\s\S`), which can only make the check refuse more.
 */
function anyForPropertyEscapes (source: string): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const char = source[i]
    if (char === '\\') {
      const next = source[i + 1] ?? ''
      const close = source.indexOf('}', i)
      if ((next === 'p' || next === 'P') && source[i + 2] === '{' && close > 0) {
        out += inClass ? '\\s\\S' : '[\\s\\S]'
        i = close
      } else {
        out += char + next
        i++
      }
      continue
    }
    if (char === '[') inClass = true
    else if (char === ']') inClass = false
    out += char
  }
  return out
}

/** The characters a sequence can start with, and whether it can match the empty string. */
function firstOf (sequence: readonly Token[], flags: Flags): { chars: CharRanges, nullable: boolean } {
  const chars: Array<readonly [number, number]> = []
  for (const token of sequence) {
    const first = firstOfToken(token, flags)
    chars.push(...first.chars)
    if (!first.nullable) return { chars, nullable: false }
  }
  return { chars, nullable: true }
}

function firstOfToken (token: Token, flags: Flags): { chars: CharRanges, nullable: boolean } {
  switch (token.type) {
    case types.CHAR:
      return { chars: folded([[token.value, token.value]], flags), nullable: false }
    case types.SET:
      // ret reads `.` as [^\n\r\u2028\u2029]; under the s flag it matches those too.
      return { chars: flags.dotAll && isDot(token) ? ANY : folded(rangesOf(token), flags), nullable: false }
    case types.REPETITION: {
      const inner = firstOfToken(token.value, flags)
      return { chars: inner.chars, nullable: inner.nullable || token.min === 0 }
    }
    case types.GROUP: {
      // Lookarounds consume nothing.
      if (token.followedBy === true || token.notFollowedBy === true || token.lookBehind === true) return { chars: [], nullable: true }
      const firsts = (token.options ?? [token.stack ?? []]).map((option) => firstOf(option, flags))
      return { chars: firsts.flatMap((f) => f.chars), nullable: firsts.some((f) => f.nullable) }
    }
    case types.REFERENCE:
      // A backreference can repeat anything its group matched, including nothing.
      return { chars: ANY, nullable: true }
    case types.POSITION:
      return { chars: [], nullable: true }
  }
}

/** The ranges of a character class, negation applied. */
function rangesOf (set: Extract<Token, { type: types.SET }>): CharRanges {
  const ranges: Array<readonly [number, number]> = []
  for (const item of set.set) {
    if (item.type === types.CHAR) ranges.push([item.value, item.value])
    else if (item.type === types.RANGE) ranges.push([item.from, item.to])
    else ranges.push(...rangesOf(item))
  }
  return set.not ? complement(ranges) : ranges
}

function complement (ranges: CharRanges): CharRanges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  const out: Array<readonly [number, number]> = []
  let next = 0
  for (const [from, to] of sorted) {
    if (from > next) out.push([next, from - 1])
    next = Math.max(next, to + 1)
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT])
  return out
}

/**
 * Under the i flag an ASCII letter also stands for its other case. Non-ASCII folding is not modelled exactly: a
 * non-ASCII character may stand for any non-ASCII one, and for s and k (ſ U+017F and K U+212A fold to them).
 */
function folded (ranges: CharRanges, flags: Flags): CharRanges {
  if (!flags.ignoreCase) return ranges
  const out = [...ranges]
  for (const [from, to] of ranges) {
    if (to >= 0x80) out.push([0x80, MAX_CODE_POINT], [0x4B, 0x4B], [0x53, 0x53], [0x6B, 0x6B], [0x73, 0x73])
    const lowerFrom = Math.max(from, 0x61)
    const lowerTo = Math.min(to, 0x7A)
    if (lowerFrom <= lowerTo) out.push([lowerFrom - 0x20, lowerTo - 0x20])
    const upperFrom = Math.max(from, 0x41)
    const upperTo = Math.min(to, 0x5A)
    if (upperFrom <= upperTo) out.push([upperFrom + 0x20, upperTo + 0x20])
  }
  return out
}

/** ret's token for `.`: the negated set of the four line terminators. */
function isDot (set: Extract<Token, { type: types.SET }>): boolean {
  const codes = set.set.map((item) => (item.type === types.CHAR ? item.value : -1))
  return set.not && codes.join() === '10,13,8232,8233'
}

function intersects (a: CharRanges, b: CharRanges): boolean {
  return a.some(([aFrom, aTo]) => b.some(([bFrom, bTo]) => aFrom <= bTo && bFrom <= aTo))
}
