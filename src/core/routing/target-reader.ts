// The gate and the match fused for the common case. A plainly canonical target (`{prefix}/v2/...` or
// `{prefix}/v3/...`, segments of RFC 3986 pchar without `;` and `%`, none empty, `.` or `..`, no `#`) is
// validated and matched in one scan (PathGate.plainEnd, Matcher.matchPlain); every other target goes through
// the gate's full reading and the tree walk exactly as before. test/core/routing/target-reader.property.test.ts
// checks that both ways give the same answer.
import type { PathGate } from '../request/path-gate.js'
import type { TargetInspection } from '../request/read-request.js'
import type { Matcher, MatchResult } from './matcher.js'

/** The gate's answer; a guarded target also carries the match when the fast path already found it. */
export type TargetReading = TargetInspection<MatchResult>

export interface TargetReader {
  read (method: string, target: string): TargetReading
}

/** `prefixLength`: the length of the prefix the gate was compiled for (the template part starts there). */
export function compileTargetReader (gate: PathGate, matcher: Matcher, prefixLength: number): TargetReader {
  return {
    read (method, target) {
      const end = gate.plainEnd(target)
      const match = end === -1 ? undefined : matcher.matchPlain(method, target, prefixLength, end)
      if (match !== undefined) {
        return { kind: 'guarded', path: end === target.length ? target : target.slice(0, end), start: prefixLength, match }
      }
      const gated = gate.inspect(target)
      return gated.kind === 'guarded' ? { kind: 'guarded', path: gated.path, start: gated.start, match: undefined } : gated
    }
  }
}
