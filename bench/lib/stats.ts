// Small statistics, timing and reporting helpers shared by the sections.
import { cpus, availableParallelism, totalmem } from 'node:os'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'

export function median (values: readonly number[]): number {
  return quantile(values, 0.5)
}

/** Linear-interpolated quantile of unsorted values. */
export function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo)
}

/** Quantile of an already sorted typed array. */
export function sortedQuantile (sorted: Float64Array, q: number): number {
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo)
}

export function round (value: number, digits = 0): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** Keeps results observable so the optimizer cannot drop the work. */
let sinkValue = 0
export function sink (value: number): void {
  sinkValue = (sinkValue + value) | 0
}
export function sinkRead (): number {
  return sinkValue
}

/** Rotates the run order each round so no candidate always runs first (or right after a GC-heavy one). */
export function rotation<T> (items: readonly T[], round: number): T[] {
  const k = round % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

const require = createRequire(import.meta.url)

/** A package's version, found by walking up from its entry point (not every package exports package.json). */
function versionOf (name: string): string {
  try {
    let dir = dirname(require.resolve(name))
    for (;;) {
      const file = join(dir, 'package.json')
      if (existsSync(file)) {
        const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string, version?: string }
        if (manifest.name === name) return manifest.version ?? 'unknown'
      }
      const parent = dirname(dir)
      if (parent === dir) return 'unknown'
      dir = parent
    }
  } catch {
    return 'unknown'
  }
}

export interface MachineInfo {
  readonly cpuModel: string
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  readonly v8: string
  readonly platform: string
  readonly date: string
  readonly packages: Readonly<Record<string, string>>
}

export function machineInfo (): MachineInfo {
  const cpu = cpus()
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    packages: Object.fromEntries(['evs-authz', 'fastify', 'find-my-way', 'path-to-regexp', '@fastify/jwt', '@fastify/http-proxy',
      'casbin', 'autocannon', 'pino']
      .map((name) => [name, versionOf(name)]))
  }
}

/** A markdown table. */
export function table (head: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

export function fmt (value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function ratio (value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a'
}

/** Where a run's figures go: only a full run (no --quick, no --only=) replaces the committed bench/results.json. */
export function resultsFileName (argv: readonly string[]): 'results.json' | 'results-partial.json' {
  return argv.some((a) => a === '--quick' || a.startsWith('--only=')) ? 'results-partial.json' : 'results.json'
}
