// `npm start`'s first step: compile dist/ only when a source or compiler setting is newer than it, so the
// demo starts in seconds when nothing changed (a full build takes 10-20 s on a small machine).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const newest = (files) => Math.max(0, ...files.map((file) => statSync(file).mtimeMs))
const oldest = (files) => Math.min(...files.map((file) => statSync(file).mtimeMs))
const listed = (dir, suffix) => readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(suffix)).map((f) => join(dir, f))

/** True when dist/ is missing or older than anything it is compiled from (exported for tests). */
export function isStale (root) {
  let outputs
  try {
    outputs = listed(join(root, 'dist'), '.js')
  } catch {
    return true
  }
  if (outputs.length === 0) return true
  const inputs = [...listed(join(root, 'src'), '.ts'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')]
  return newest(inputs) > oldest(outputs)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  if (isStale(root)) {
    console.error('building dist/ (sources changed since the last build)...')
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
    process.exit(build.status ?? 1)
  }
}
