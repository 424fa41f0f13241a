// House rule: a type assertion (`x as T`, `<T>x`) only where a comment says why. Every assertion in src/ must
// have a comment on its own line or on the line above; `as const` is not an assertion of a type.
import t from 'tap'
import ts from 'typescript'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const listed = execFileSync('git', ['ls-files', 'src/*.ts', 'src/**/*.ts'], { cwd: root, encoding: 'utf8' })
const files = listed.split('\n').filter((f) => f !== '')

/** The assertions of a source file, with their line numbers (1-based). */
function assertionsIn (text: string, name = 'x.ts'): Array<{ line: number, text: string }> {
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true)
  const found: Array<{ line: number, text: string }> = []
  const visit = (node: ts.Node): void => {
    const asserted = ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)
    const isConst = asserted && ts.isTypeReferenceNode(node.type) && node.type.typeName.getText(source) === 'const'
    if (asserted && !isConst) {
      found.push({ line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, text: node.getText(source) })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function explained (lines: readonly string[], line: number): boolean {
  const here = lines[line - 1] ?? ''
  const above = (lines[line - 2] ?? '').trim()
  return /\/\/|\/\*/.test(here) || above.startsWith('//') || above.startsWith('*') || above.startsWith('/*')
}

t.test('the checker finds assertions and ignores as const', async (t) => {
  const found = assertionsIn('const a = b as string\nconst c = [1] as const\nconst d = <number>e\n')
  t.same(found.map((f) => f.line), [1, 3])
  t.ok(explained(['// why', 'const a = b as string'], 2))
  t.notOk(explained(['const z = 1', 'const a = b as string'], 2))
})

t.test('every type assertion in src/ says why', async (t) => {
  let total = 0
  for (const file of files) {
    const text = readFileSync(`${root}${file}`, 'utf8')
    const lines = text.split('\n')
    for (const assertion of assertionsIn(text, file)) {
      total++
      t.ok(explained(lines, assertion.line), `${file}:${assertion.line} ${assertion.text.slice(0, 80)}`)
    }
  }
  t.ok(total > 0, `${total} assertions checked`)
})
