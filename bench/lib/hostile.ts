// Section "hostile inputs": what an attacker's or a tenant's worst input costs, as ratios against a plain
// input of the same size, measured side by side in interleaved rounds in this process.
// - A StringMatch condition with 13 `*` against a 255-character user name (a backtracking regex takes
//   seconds on this pair) vs a StringEquals condition on the same name: one decision each, grants
//   compiled per decision (a fresh claims object), so the condition really runs every time.
// - A target built to make the lenient path reading work hardest (escapes in every position, nested
//   `%25`, backslashes, dot segments, fullwidth letters for NFKC) vs a plain canonical target of the same
//   length, both through authorize(). And past that length, a 4,096-character path without escapes (which is still
//   read) vs a plain one of the same length.
import { createAuthorizer, type RequestTarget } from '../../dist/index.js'
import { MAX_LENIENT_PATH_LENGTH } from '../../dist/core/request/path-gate.js'
import { median, rotation, sink } from './stats.js'

export interface HostileSettings { readonly rounds: number, readonly batchMs: number }

export interface HostileResult {
  readonly stringMatch: {
    readonly wildcards: number
    readonly nameLength: number
    readonly matchNs: number
    readonly equalsNs: number
    readonly ratio: number
  }
  readonly target: {
    readonly length: number
    readonly worstNs: number
    readonly plainNs: number
    readonly ratio: number
    readonly worstDecision: string
  }
  /** Past the lenient limit, a path of ASCII without escapes is still read (cheaply): its worst vs a plain one. */
  readonly longTarget: {
    readonly length: number
    readonly worstNs: number
    readonly plainNs: number
    readonly ratio: number
    readonly worstDecision: string
  }
}

const P = '0123456789abcdef0123456789abcdef'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'

/** Median ns per call of each candidate, interleaved over rounds. */
function compare (candidates: ReadonlyArray<readonly [string, () => number]>, settings: HostileSettings): Map<string, number> {
  const sizes = new Map<string, number>()
  for (const [name, run] of candidates) {
    for (let i = 0; i < 200; i++) sink(run())
    const start = process.hrtime.bigint()
    for (let i = 0; i < 200; i++) sink(run())
    const ns = Number(process.hrtime.bigint() - start) / 200
    sizes.set(name, Math.max(50, Math.round(settings.batchMs * 1e6 / ns)))
  }
  const samples = new Map<string, number[]>(candidates.map(([name]) => [name, []]))
  for (let round = 0; round < settings.rounds; round++) {
    for (const [name, run] of rotation(candidates, round)) {
      const n = sizes.get(name) as number
      const start = process.hrtime.bigint()
      for (let i = 0; i < n; i++) sink(run())
      samples.get(name)?.push(Number(process.hrtime.bigint() - start) / n)
    }
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]))
}

export function benchHostile (settings: HostileSettings): HostileResult {
  const authorizer = createAuthorizer()
  const get: RequestTarget = { method: 'GET', url: `/v3/${P}/snapshots/${S}` }
  // The classic catastrophic case for `^.*a.*a...b$`: many a's, no b at the end.
  const wildcards = 13
  const name = 'a'.repeat(255)
  const pattern = `${'*a'.repeat(wildcards - 1)}*b`
  const claims = (condition: object): () => object => () => ({
    project_id: P,
    user_name: name,
    policies: [{ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:*:*'], Condition: condition }] }]
  })
  const withMatch = claims({ StringMatch: { 'g:UserName': [pattern] } })
  const withEquals = claims({ StringEquals: { 'g:UserName': [`${name}b`] } })
  const decide = (make: () => object) => (): number => (authorizer.authorize(get, make()).kind === 'allow' ? 1 : 0)
  const condition = compare([['match', decide(withMatch)], ['equals', decide(withEquals)]], settings)

  // A target of `length` characters repeating `unit` vs a plain canonical target of the same length, both through
  // authorize() without claims (the worst one is refused before any grant is read, the plain one gets its 401).
  const plainHead = `/v3/${P}/snapshots/${S}/metadata/`
  const versusPlain = (unit: string, length: number): HostileResult['target'] => {
    const worst = `/x${unit.repeat(Math.ceil(length / unit.length))}`.slice(0, length)
    const plain = `${plainHead}${'k'.repeat(length)}`.slice(0, length)
    const worstDecision = authorizer.authorize({ method: 'GET', url: worst }, {}).reason
    const times = compare([
      ['worst', () => (authorizer.authorize({ method: 'GET', url: worst }, undefined).kind === 'allow' ? 1 : 0)],
      ['plain', () => (authorizer.authorize({ method: 'GET', url: plain }, undefined).kind === 'allow' ? 1 : 0)]
    ], settings)
    const worstNs = times.get('worst') as number
    const plainNs = times.get('plain') as number
    return { length, worstNs, plainNs, ratio: worstNs / plainNs, worstDecision }
  }
  // The longest path the lenient reading decodes, built from the spellings it decodes and folds (longer such paths are
  // refused before the reading runs). Bytes as they arrive on the wire (Node hands the target over as Latin-1 text):
  // fullwidth ｖ as its UTF-8 escapes.
  const target = versusPlain('%252e%252e\\%c0%ae%c0%ae/%2E%2e/%ef%bd%963/..;x/', MAX_LENIENT_PATH_LENGTH)
  // Past the limit, without escapes or non-ASCII the reading still runs: upper case to fold, backslashes, dot
  // segments, `;params` and versions everywhere.
  const longTarget = versusPlain('/X/..\\V2/./;x=1/', 4096)
  const matchNs = condition.get('match') as number
  const equalsNs = condition.get('equals') as number
  return {
    stringMatch: { wildcards, nameLength: name.length, matchNs, equalsNs, ratio: matchNs / equalsNs },
    target,
    longTarget
  }
}
