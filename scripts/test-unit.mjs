// `npm run test:unit`: tap with the project's .taprc; under CI (CI set and not "false" or "0") the compact
// terse reporter, so a log shows failures and the totals instead of every assertion as TAP.
// TAP_REPORTER or an explicit --reporter / -R still wins.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The tap arguments for this environment (exported for test/output.test.ts). */
export function tapArguments (env, args) {
  const underCi = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0'
  const chosen = env.TAP_REPORTER !== undefined || args.some((a) => a === '-R' || a.startsWith('--reporter'))
  return underCi && !chosen ? ['--reporter=terse', ...args] : [...args]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tap = fileURLToPath(new URL('../node_modules/.bin/tap', import.meta.url))
  const result = spawnSync(tap, tapArguments(process.env, process.argv.slice(2)), { stdio: 'inherit' })
  process.exit(result.status ?? 1)
}
