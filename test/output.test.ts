// Quiet, honest output: one coverage gate (tap's, .taprc) at the thresholds the README states, the compact
// reporter under CI, and partial benchmark runs that never overwrite the committed full results.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { resultsFileName } from '../bench/lib/stats.js'
// @ts-expect-error a plain .mjs script without type declarations
import { tapArguments } from '../scripts/test-unit.mjs'

const root = new URL('..', import.meta.url)
const taprc = readFileSync(new URL('.taprc', root), 'utf8')
const setting = (name: string): string | undefined => new RegExp(`^${name}: (.+)$`, 'm').exec(taprc)?.[1]

t.test('tap is the one coverage gate, over src/ only, at 95% lines and 90% branches, as the README says', async (t) => {
  t.equal(setting('allow-incomplete-coverage'), undefined, 'incomplete coverage fails the run (no second gate that disagrees)')
  t.equal(setting('lines'), '95')
  t.equal(setting('branches'), '90')
  for (const dir of ['test', 'examples', 'bench', 'scripts']) {
    t.match(taprc, `\n  - ${dir}/**\n`, `${dir}/ is not part of the measured library`)
  }
  const readme = readFileSync(new URL('README.md', root), 'utf8')
  t.match(readme, `coverage of src/ >= ${setting('lines') ?? '?'}% lines and ${setting('branches') ?? '?'}% branches`)
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }
  t.notMatch(pkg.scripts['test:coverage'], /\d/, 'the report check takes no threshold of its own')
})

const tapCases: ReadonlyArray<[string, Record<string, string>, string[], string[]]> = [
  ['a terminal or a plain pipe: tap decides', {}, [], []],
  ['CI=true: terse', { CI: 'true' }, [], ['--reporter=terse']],
  ['CI=1: terse, arguments kept', { CI: '1' }, ['test/x.test.ts'], ['--reporter=terse', 'test/x.test.ts']],
  ['CI=false: tap decides', { CI: 'false' }, [], []],
  ['CI=0: tap decides', { CI: '0' }, [], []],
  ['an explicit reporter wins', { CI: 'true' }, ['-R', 'tap'], ['-R', 'tap']],
  ['--reporter= wins', { CI: 'true' }, ['--reporter=dot'], ['--reporter=dot']],
  ['TAP_REPORTER wins', { CI: 'true', TAP_REPORTER: 'tap' }, [], []]
]

t.test('npm run test:unit picks the compact reporter under CI only', async (t) => {
  for (const [what, env, args, expected] of tapCases) t.same(tapArguments(env, args), expected, what)
})

t.test('only a full benchmark run writes bench/results.json', async (t) => {
  const cases: ReadonlyArray<[string[], string]> = [
    [['node', 'bench/run.ts'], 'results.json'],
    [['node', 'bench/run.ts', '--quick'], 'results-partial.json'],
    [['node', 'bench/run.ts', '--only=matcher'], 'results-partial.json'],
    [['node', 'bench/run.ts', '--quick', '--only=gateway'], 'results-partial.json']
  ]
  for (const [argv, file] of cases) t.equal(resultsFileName(argv), file, argv.slice(2).join(' ') || 'no flags')
  t.match(readFileSync(new URL('.gitignore', root), 'utf8'), /^bench\/results-partial\.json$/m, 'partial results are not committed')
})
