// Fails when line coverage of the library (src/, from tap's json-summary report) is under the threshold.
// examples/ and bench/ are exercised by tests too, but they are not the library.
import { readFileSync } from 'node:fs'

const threshold = Number(process.argv[2] ?? 95)
const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8'))
const library = Object.entries(summary).filter(([file]) => file.startsWith(`${process.cwd()}/src/`))
const sum = (key, field) => library.reduce((total, [, s]) => total + s[key][field], 0)
const pct = (key) => Math.round((10000 * sum(key, 'covered')) / Math.max(1, sum(key, 'total'))) / 100
const lines = pct('lines')
console.log(`coverage of src/: ${lines}% lines, ${pct('branches')}% branches, ${pct('functions')}% functions (threshold ${threshold}% lines)`)
for (const [file, s] of library) {
  if (s.lines.pct < 100) console.log(`  ${file.replace(`${process.cwd()}/`, '')}: ${s.lines.pct}% lines`)
}
if (library.length === 0 || !(lines >= threshold)) {
  console.error(`coverage ${lines}% of src/ is below ${threshold}%`)
  process.exit(1)
}
