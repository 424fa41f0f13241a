// The demo gateway (`npm start`): the printed curl commands must behave as printed.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { readFileSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { curlCommand, describeDemo, personas, startDemo } from '../examples/demo.js'
// @ts-expect-error a plain .mjs script without type declarations
import { isStale } from '../scripts/build-if-stale.mjs'

const run = promisify(execFile)

/** Runs a printed command line in bash with the printed token exports; returns the HTTP status. */
async function statusOf (exports: string, command: string): Promise<number> {
  const { stdout } = await run('bash', ['-c', `${exports}\n${command}`])
  const status = /^HTTP\/1\.1 (\d{3})/.exec(stdout)
  return Number(status?.[1])
}

t.test('every printed curl command gets the status printed above it, and the whole list runs twice', async (t) => {
  const demo = await startDemo({ port: 0 })
  t.teardown(() => demo.close())
  const printed = describeDemo(demo)
  const exports = printed.split('\n').filter((line) => line.startsWith('export TOKEN_')).join('\n')
  t.equal(exports.split('\n').length, personas.length, 'one token per persona')
  t.equal(demo.curls.length, 13)
  t.equal(demo.curls[0]?.path, '/demo/reset', 'the first command restores the data the others change')
  for (const round of [1, 2]) {
    for (const example of demo.curls) {
      const command = curlCommand(demo.gatewayUrl, example)
      t.ok(printed.includes(`# ${example.expect}: ${example.what}\n${command}`), `printed: ${example.what}`)
      t.equal(await statusOf(exports, command), example.expect, `round ${round}, ${example.what}: ${command}`)
    }
  }
  // The statuses cover the outcomes a user should see.
  t.same([...new Set(demo.curls.map((c) => c.expect))].sort(), [200, 202, 204, 400, 401, 403])
  const refused = await fetch(`${demo.gatewayUrl}/v2/0123456789abcdef0123456789abcdef/snapshots/%c0%af`)
  const envelope = { badRequest: { code: 400, message: 'Malformed request url' } }
  t.same([refused.status, await refused.json()], [400, envelope], 'a URL the router refuses: the envelope')
})

t.test('the README describes the personas the demo prints', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## The demo gateway'), readme.indexOf('## Quick start (Fastify)'))
  const named = [...section.matchAll(/`TOKEN_([A-Z_]+)`/g)].map((m) => m[1]?.toLowerCase())
  t.same(named, personas.map((p) => p.name), 'every persona, in the printed order')
  const count = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'][personas.length] ?? String(personas.length)
  t.match(section, `tokens for ${count} personas`)
})

t.test('npm start only builds when the sources changed', async (t) => {
  const dir = t.testdir({ src: { 'a.ts': '' }, dist: { 'a.js': '' }, 'tsconfig.json': '{}', 'tsconfig.build.json': '{}' })
  const at = (file: string, seconds: number): void => utimesSync(join(dir, file), seconds, seconds)
  for (const file of ['src/a.ts', 'tsconfig.json', 'tsconfig.build.json']) at(file, 1000)
  at('dist/a.js', 2000)
  t.equal(isStale(dir), false, 'dist newer than every input')
  at('src/a.ts', 3000)
  t.equal(isStale(dir), true, 'a source changed')
  at('src/a.ts', 1000)
  at('tsconfig.build.json', 3000)
  t.equal(isStale(dir), true, 'a compiler setting changed')
  t.equal(isStale(join(dir, 'src')), true, 'no dist/ at all')
})

t.test('npm start: working commands, allow lines with LOG_LEVEL=debug, and SIGTERM to npm stops everything', async (t) => {
  // npm test has just built dist/, so npm start must not build again.
  const npm = spawn('npm', ['start'], { env: { ...process.env, PORT: '0', LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { npm.kill('SIGKILL') })
  let output = ''
  npm.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  npm.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${output}`)), 60000)
    npm.stdout.on('data', () => {
      if (output.includes('Ctrl-C stops')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const urls = /demo gateway on (http:\/\/127\.0\.0\.1:\d+) -> EVS backend (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
  t.ok(urls, 'prints both addresses')
  const lines = output.split('\n')
  const exports = lines.filter((line) => line.startsWith('export TOKEN_')).join('\n')
  const first = lines.findIndex((line) => line.startsWith('# 200: '))
  t.equal(await statusOf(exports, lines[first + 1] ?? ''), 200)
  const denied = lines.findIndex((line) => line.startsWith('# 401: '))
  t.equal(await statusOf(exports, lines[denied + 1] ?? ''), 401)
  // The log lines are written by the child process; they may arrive just after the HTTP answer.
  const logged = (): boolean =>
    /"decision":"allow".*"msg":"evs-authz decision"/.test(output) && /"decision":"deny".*"msg":"evs-authz decision"/.test(output)
  for (let waited = 0; waited < 5000 && !logged(); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(output, /"decision":"allow".*"msg":"evs-authz decision"/, 'LOG_LEVEL=debug logs allowed requests')
  t.match(output, /"decision":"deny".*"msg":"evs-authz decision"/, 'and denials')
  t.notMatch(output, /building dist/, 'no rebuild when nothing changed')
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
  npm.kill('SIGTERM')
  t.equal(await exited, 0, 'npm exits cleanly on SIGTERM')
  for (const url of [urls?.[1], urls?.[2]]) await t.rejects(fetch(`${url ?? ''}/`), `${url ?? ''}: nothing left listening`)
})
