// The repository stands alone: every Markdown document that code, tests, scripts or docs point at is in it.
// A contributor who clones it must be able to follow each reference (issue: nothing may rely on documents
// that only ever existed next to the repository).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter((f) => f !== '')
// CHANGELOG.md records history: it may name documents that were later renamed.
const sources =
  tracked.filter((f) => /\.(ts|mjs|js|sh|py|md|json)$|^\.ci\/run$/.test(f) && f !== 'CHANGELOG.md' && !f.endsWith('package-lock.json'))
/** A path-like token ending in `.md`, not part of a URL (`https://…/evs_04_0027.md` is the vendor's page). */
const MARKDOWN_REFERENCE = /(?<![\w/.:-])((?:\.{1,2}\/)?[\w-]+(?:\/[\w.-]+)*\.md)\b/g

function references (file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  return [...text.matchAll(MARKDOWN_REFERENCE)].map((m) => m[1] ?? '').filter((ref) => {
    const before = text.slice(Math.max(0, text.indexOf(ref) - 12), text.indexOf(ref))
    return !/:\/\/\S*$/.test(before)
  })
}

t.test('every referenced Markdown document exists in the repository', async (t) => {
  let checked = 0
  for (const file of sources) {
    for (const ref of references(file)) {
      checked++
      const candidates = [join(root, ref), join(root, dirname(file), ref), join(root, 'docs', ref)]
      t.ok(candidates.some((path) => existsSync(path)), `${file} refers to ${ref}`)
    }
  }
  // The check is not vacuous: the README, the docs and the code refer to docs/*.md many times.
  t.ok(checked > 20, `${checked} references checked`)
})

t.test('nothing points outside the repository', async (t) => {
  const outside = /\.\.\/shared\b|\bDESIGN\.md\b|\bresearch\/[\w-]+\.md\b/
  for (const file of sources) {
    const text = readFileSync(join(root, file), 'utf8')
    const hit = outside.exec(text)
    t.equal(hit?.[0], undefined, `${file} refers outside the repository`)
  }
})
