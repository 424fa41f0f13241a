// The gate and the match fused for the common case. A plainly canonical target (`{prefix}/v2/...` or
// `{prefix}/v3/...`, segments of RFC 3986 pchar without `;` and `%`, none empty, `.` or `..`, no `#`) is
// validated and matched in one scan (PathGate.plainEnd, Matcher.matchPlain); every other target goes through
// the gate's full reading and the tree walk exactly as before. test/core/routing/target-reader.property.test.ts
// checks that both ways give the same answer.
import type { PathGate } from '../request/path-gate.js'
import type { Matcher, MatchResult } from './matcher.js'

/**
 * The fast path for a gate compiled for a prefix of `prefixLength` characters: the row of a plainly canonical
 * target, found in one scan; undefined whenever the target is not plainly canonical or the answer needs the slow
 * reading (then the gate reads it, PathGate.inspect, and the routing stage walks the tree, Matcher.match).
 */
export function compileTargetReader (
  gate: PathGate, matcher: Matcher, prefixLength: number
): (method: string, target: string) => MatchResult | undefined {
  return function matchPlain (method, target) {
    const end = gate.plainEnd(target)
    return end === -1 ? undefined : matcher.matchPlain(method, target, prefixLength, end)
  }
}
