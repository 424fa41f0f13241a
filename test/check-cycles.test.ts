// scripts/check-cycles.mjs, the `npm test` step that keeps src/ free of import cycles: a fixture with a cycle
// fails with the cycle printed, one without passes; type-only imports, re-exports and import() count, while
// packages, comments and strings that merely look like imports do not.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findCycles } from '../scripts/check-cycles.mjs'

const script = fileURLToPath(new URL('../scripts/check-cycles.mjs', import.meta.url))
// The command as `npm test` runs it, without tap's NODE_OPTIONS (coverage hooks: the script is not in src/).
const run = (dir: string): { status: number | null, stdout: string, stderr: string } =>
  spawnSync(process.execPath, [script, dir], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
/** Writes the source tree (paths with `/`) into a fresh test directory. */
const tree = (t: Test, files: Record<string, string>): string => {
  const dir = t.testdir({})
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, ...path.split('/'))
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  return dir
}

/** Cases: each a small source tree and the cycles it holds (as file lists, in import order from the first file). */
const cases: Array<{ name: string, files: Record<string, string>, cycles: string[][], command?: true }> = [
  {
    name: 'a value import both ways',
    files: { 'a.ts': "import { b } from './b.js'\nexport const a = b\n", 'b.ts': "import { a } from './a.js'\nexport const b = () => a\n" },
    cycles: [['a.ts', 'b.ts', 'a.ts']]
  },
  {
    name: 'a type-only import closing the cycle (decision.ts imported a type from authorizer.ts this way)',
    files: {
      'core/authorizer.ts': "import { make } from './decision/decision.js'\nexport type Pending = { kind: 'p' }\nexport const run = make\n",
      'core/decision/decision.ts': "import type { Pending } from '../authorizer.js'\nexport const make = (p: Pending) => p\n"
    },
    cycles: [['core/authorizer.ts', 'core/decision/decision.ts', 'core/authorizer.ts']]
  },
  {
    name: 'a re-export, a barrel named by its folder and an import() type over three files',
    files: {
      'index.ts': "export { x } from './x.js'\n",
      'x.ts': "import { y } from './y/index.js'\nexport const x = y\n",
      'y/index.ts': "export type Back = typeof import('..')\nexport const y = 1\n"
    },
    cycles: [['index.ts', 'x.ts', 'y/index.ts', 'index.ts']]
  },
  {
    name: 'a file importing itself',
    files: { 'self.ts': "import type { T } from './self.js'\nexport type T = string\nexport const v: T = ''\n" },
    cycles: [['self.ts', 'self.ts']]
  },
  {
    name: 'a chain without a cycle, with packages, node: modules and look-alikes in comments and strings',
    files: {
      'a.ts': "import { b } from './b.js'\nimport { readFileSync } from 'node:fs'\nimport pino from 'pino'\n" +
        'export const a = [b, readFileSync, pino]\n',
      'b.ts': "// import { a } from './a.js'\nexport const b = \"import { a } from './a.js'\"\n/* export * from './a.js' */\n",
      'c.ts': "import { a } from './a.js'\nimport { b } from './b.js'\nexport const c = [a, b]\n"
    },
    cycles: [],
    command: true
  },
  {
    name: 'two separate cycles, each reported',
    files: {
      'p.ts': "import './q.js'\n",
      'q.ts': "import './p.js'\n",
      'r.ts': "export * from './s.js'\n",
      's.ts': "export type { R } from './r.js'\nexport type S = 1\n"
    },
    cycles: [['p.ts', 'q.ts', 'p.ts'], ['r.ts', 's.ts', 'r.ts']],
    command: true
  }
]

for (const { name, files, cycles, command } of cases) {
  t.test(name, async (t) => {
    const dir = tree(t, files)
    const found = findCycles(dir).map(({ cycle }) => cycle).sort((x, y) => (x[0] ?? '').localeCompare(y[0] ?? ''))
    t.same(found, cycles.map((cycle) => cycle.map((file) => join(...file.split('/')))))
    // The command itself (a node process each, so for a passing and a failing tree only).
    if (command !== true) return
    const result = run(dir)
    if (cycles.length === 0) {
      t.equal(result.status, 0, 'the check passes')
      t.match(result.stdout, 'no import cycles')
      t.equal(result.stderr, '')
    } else {
      t.equal(result.status, 1, 'the check fails')
      t.match(result.stderr, `${cycles.length} import cycle(s)`)
      for (const cycle of cycles) t.match(result.stderr, cycle.map((file) => join(...file.split('/'))).join(' -> '), 'the cycle is printed')
    }
  })
}

t.test('a group larger than the printed cycle names its other files', async (t) => {
  // authorizer -> enterprise -> decision -> authorizer and authorizer -> decision -> authorizer share one group.
  const dir = tree(t, {
    'authorizer.ts': "import './enterprise.js'\nimport './decision.js'\n",
    'enterprise.ts': "import type {} from './decision.js'\n",
    'decision.ts': "import type {} from './authorizer.js'\n"
  })
  const [group, ...rest] = findCycles(dir)
  t.same(rest, [], 'one group')
  t.same(group?.cycle, ['authorizer.ts', 'decision.ts', 'authorizer.ts'], 'the shortest cycle through the first file')
  t.same(group?.files, ['authorizer.ts', 'decision.ts', 'enterprise.ts'])
  t.match(run(dir).stderr, 'the same group also holds: enterprise.ts')
})

t.test('a long chain closing on its first file is found without deep recursion', async (t) => {
  const length = 2000
  const files: Record<string, string> = {}
  for (let i = 0; i < length; i++) files[`m${i}.ts`] = `import './m${(i + 1) % length}.js'\n`
  const dir = tree(t, files)
  const [group, ...rest] = findCycles(dir)
  t.same(rest, [])
  t.equal(group?.files.length, length)
  t.equal(group?.cycle.length, length + 1, 'the whole ring, ending where it starts')
})
