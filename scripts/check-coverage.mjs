// Fails when line coverage of src/ (from tap's json-summary report) is under the threshold.
import { readFileSync } from 'node:fs'

const threshold = Number(process.argv[2] ?? 95)
const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8'))
const lines = summary.total.lines.pct
const uncovered = Object.entries(summary)
  .filter(([file, s]) => file !== 'total' && s.lines.pct < 100)
  .map(([file, s]) => `  ${file.replace(process.cwd() + '/', '')}: ${s.lines.pct}% lines`)
console.log(`coverage: ${lines}% lines, ${summary.total.branches.pct}% branches (threshold ${threshold}% lines)`)
if (uncovered.length > 0) console.log(uncovered.join('\n'))
if (!(lines >= threshold)) {
  console.error(`coverage ${lines}% is below ${threshold}%`)
  process.exit(1)
}
