// The demo gateway (`npm start`): the printed curl commands must behave as printed.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { curlCommand, describeDemo, personas, startDemo } from '../examples/demo.js'

const run = promisify(execFile)

/** Runs a printed command line in bash with the printed token exports; returns the HTTP status. */
async function statusOf (exports: string, command: string): Promise<number> {
  const { stdout } = await run('bash', ['-c', `${exports}\n${command}`])
  const status = /^HTTP\/1\.1 (\d{3})/.exec(stdout)
  return Number(status?.[1])
}

t.test('every printed curl command gets the status printed above it', async (t) => {
  const demo = await startDemo({ port: 0 })
  t.teardown(() => demo.close())
  const printed = describeDemo(demo)
  const exports = printed.split('\n').filter((line) => line.startsWith('export TOKEN_')).join('\n')
  t.equal(exports.split('\n').length, personas.length, 'one token per persona')
  t.equal(demo.curls.length, 12)
  for (const example of demo.curls) {
    const command = curlCommand(demo.gatewayUrl, example)
    t.ok(printed.includes(`# ${example.expect}: ${example.what}\n${command}`), `printed: ${example.what}`)
    t.equal(await statusOf(exports, command), example.expect, `${example.what}: ${command}`)
  }
  // The statuses cover the outcomes a user should see.
  t.same([...new Set(demo.curls.map((c) => c.expect))].sort(), [200, 202, 400, 401, 403])
})

t.test('npm start\'s entry point prints working commands and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/main.ts'], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${output}`)), 20000)
    child.stdout.on('data', () => {
      if (output.includes('Ctrl-C stops')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const lines = output.split('\n')
  const exports = lines.filter((line) => line.startsWith('export TOKEN_')).join('\n')
  const first = lines.findIndex((line) => line.startsWith('# 200: '))
  t.ok(first > 0, 'an allowed example is printed')
  t.equal(await statusOf(exports, lines[first + 1] ?? ''), 200)
  const denied = lines.findIndex((line) => line.startsWith('# 401: '))
  t.equal(await statusOf(exports, lines[denied + 1] ?? ''), 401)
  // The log line is written by the child process; it may arrive just after the HTTP answer.
  for (let waited = 0; waited < 5000 && !output.includes('"msg":"evs-authz decision"'); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(output, /"msg":"evs-authz decision"/, 'decision lines are logged')
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exits cleanly on SIGTERM')
})
