// Types of scripts/check-cycles.mjs, for its tests.
export function sourceFiles (dir: string): string[]
export function importGraph (files: readonly string[]): Map<string, string[]>
export function cyclicComponents (graph: ReadonlyMap<string, readonly string[]>): string[][]
export function cycleIn (graph: ReadonlyMap<string, readonly string[]>, component: readonly string[]): string[]
export interface ImportCycle {
  /** One concrete cycle, ending where it starts. */
  readonly cycle: string[]
  /** Every file of the strongly connected group. */
  readonly files: string[]
}
export function findCycles (dir: string, base?: string): ImportCycle[]
