// `npm run test:coverage`, after tap: the thresholds are tap's (.taprc, the one gate). This checks that the
// report tap gated measures the library alone (src/; examples/, bench/ and tests are exercised but are not
// the library) and lists the files of src/ under 100% lines, so a newcomer sees where coverage is missing.
import { readFileSync } from 'node:fs'

const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8'))
const files = Object.keys(summary).filter((file) => file !== 'total')
const outside = files.filter((file) => !file.startsWith(`${process.cwd()}/src/`))
if (files.length === 0 || outside.length > 0) {
  console.error(`the coverage report should hold src/ only; it holds ${files.length} files, these outside src/:\n  ${outside.join('\n  ')}`)
  process.exit(1)
}
const { lines, branches, functions } = summary.total
console.log(`coverage of src/ (${files.length} files): ${lines.pct}% lines, ${branches.pct}% branches, ${functions.pct}% functions`)
for (const file of files) {
  if (summary[file].lines.pct < 100) console.log(`  ${file.slice(process.cwd().length + 1)}: ${summary[file].lines.pct}% lines`)
}
