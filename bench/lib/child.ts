// `npm run bench` runs the compiled JavaScript with plain node (scripts/build-bench.mjs builds it into
// .bench-build/), as users run the package. Under tsx the library itself would be transformed too (esbuild's
// keepNames wraps every named closure in a __name() call, once per call) and the figures would measure code no
// user runs. Started from TypeScript (`node --import tsx bench/...`), the children are started the same way.
import { fileURLToPath } from 'node:url'

/** True when this file is the compiled JavaScript. */
export const COMPILED = !import.meta.url.endsWith('.ts')

/** The script of a child process next to `from` (an import.meta.url), and the node flags it needs. */
export function childScript (from: string, name: string): { readonly path: string, readonly execArgv: readonly string[] } {
  return { path: fileURLToPath(new URL(`./${name}.${COMPILED ? 'js' : 'ts'}`, from)), execArgv: COMPILED ? [] : ['--import', 'tsx'] }
}

/** The repository's bench/ folder (results are written there, not into the build). */
export const BENCH_DIR = fileURLToPath(new URL(COMPILED ? '../../../bench/' : '../', import.meta.url))
