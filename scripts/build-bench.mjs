// Builds the benchmarks into .bench-build/ (tsc, tsconfig.bench.json) so `npm run bench` runs plain JavaScript
// against dist/, as users run the package (bench/lib/child.ts says why not tsx). The relative imports of
// dist/ keep working through a .bench-build/dist link to the real dist/.
import { execFileSync } from 'node:child_process'
import { existsSync, rmSync, symlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}.bench-build`
rmSync(out, { recursive: true, force: true })
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.bench.json`], { stdio: 'inherit' })
if (!existsSync(`${out}/dist`)) symlinkSync('../dist', `${out}/dist`, 'dir')
