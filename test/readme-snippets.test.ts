// The README's code, as a newcomer runs it: every block marked `<!-- snippet: NAME -->` is saved into a fresh
// app directory that has the packed tarball (npm pack: only what ships) as node_modules/evs-authz, and is run
// with node (servers on 127.0.0.1, stopped by PID) or type-checked with tsc (strict, exactOptionalPropertyTypes).
// The app's other dependencies are this repository's node_modules, linked: no network, a few seconds.
import t from 'tap'
import { execFile, execFileSync, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const P = '0123456789abcdef0123456789abcdef'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'
const KEY = 'readme-snippet-test-key-0123456789abcdef'

const snippets = new Map<string, { lang: string, code: string }>()
for (const m of readme.matchAll(/<!-- snippet: ([\w-]+)[^>]*-->\n```(\w+)\n([\s\S]*?)\n```\n/g)) {
  snippets.set(m[1] as string, { lang: m[2] as string, code: m[3] as string })
}

function sign (claims: object, key = KEY): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const data = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, iat: Math.floor(Date.now() / 1000) })}`
  return `${data}.${createHmac('sha256', key).update(data).digest('base64url')}`
}

/** A fresh app: package.json, the packed evs-authz, this repository's dependencies linked beside it. */
function freshApp (dir: string): string {
  const app = join(dir, 'app')
  mkdirSync(join(app, 'node_modules'), { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'newcomer-app', private: true, type: 'module' }))
  const pack = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']
  })
  const packed = JSON.parse(pack) as Array<{ filename: string }>
  execFileSync('tar', ['xzf', join(dir, packed[0]?.filename ?? ''), '-C', join(app, 'node_modules')])
  renameSync(join(app, 'node_modules', 'package'), join(app, 'node_modules', 'evs-authz'))
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (!entry.startsWith('.') && entry !== 'evs-authz') symlinkSync(join(root, 'node_modules', entry), join(app, 'node_modules', entry))
  }
  return app
}

interface Running { readonly url: string, output (): string, stop (): Promise<string> }

/** Runs `file` in the app with a clean environment; resolves once it prints its http://127.0.0.1:PORT. */
function start (app: string, file: string, env: Record<string, string>): Promise<Running> {
  const clean = { PATH: process.env['PATH'] ?? '', HOME: app, PORT: '0', ...env }
  const child = spawn(process.execPath, [file], { cwd: app, env: clean, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  // How it ended: `0`, another exit code, or the signal (a plain node server ends by SIGTERM).
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? String(code))))
  const stop = async (): Promise<string> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop().catch(() => {}); reject(new Error(`${file} did not start:\n${output}`)) }, 20_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const listening = /http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (listening !== null) {
        clearTimeout(timer)
        resolve({ url: `http://127.0.0.1:${listening[1] ?? ''}`, output: () => output, stop })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    exited.then((code) => { clearTimeout(timer); reject(new Error(`${file} exited with ${code}:\n${output}`)) })
  })
}

/** A stand-in EVS backend that records what reaches it. */
interface Seen { method: string, url: string, headers: IncomingHttpHeaders, body: string }
async function backend (): Promise<{ url: string, seen: Seen[], close: () => Promise<void> }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += chunk.toString() })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ snapshots: [] }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close }
}

const decisionLines = (output: string): Array<Record<string, unknown>> => output.split('\n')
  .filter((line) => line.includes('"evs-authz decision"')).map((line) => JSON.parse(line) as Record<string, unknown>)

t.test('the README marks its runnable and type-checked snippets', async (t) => {
  t.same([...snippets.keys()].sort(), ['express-quick-start', 'fastify-quick-start', 'metrics', 'options', 'types'])
})

t.test('README snippets run verbatim in a fresh app against the packed package', async (t) => {
  const dir = t.testdir({})
  const app = freshApp(dir)
  for (const [name, { lang, code }] of snippets) writeFileSync(join(app, `${name}.${lang === 'ts' ? 'ts' : 'mjs'}`), `${code}\n`)
  const upstream = await backend()
  t.teardown(() => upstream.close())
  const reader = sign({ sub: 'u-42', project_id: P, actions: ['evs:snapshots:get', 'evs:snapshots:list'] })
  const forged = { 'X-Roles': 'admin', 'X-Project-Id': P, 'X-Identity-Status': 'Confirmed', 'X-Service-Roles': 'admin' }

  for (const name of ['fastify-quick-start', 'express-quick-start']) {
    t.test(name, async (t) => {
      const gateway = await start(app, `${name}.mjs`, { JWT_KEY: KEY, EVS_URL: upstream.url })
      t.teardown(() => gateway.stop())
      upstream.seen.length = 0
      const list = await fetch(`${gateway.url}/v2/${P}/snapshots/detail`, { headers: { 'X-Auth-Token': reader, ...forged } })
      t.equal(list.status, 200, 'a reader lists snapshots with X-Auth-Token, as EVS clients send it')
      t.same(await list.json(), { snapshots: [] })
      t.equal(upstream.seen.length, 1)
      const sent = upstream.seen[0]?.headers ?? {}
      for (const header of ['x-roles', 'x-project-id', 'x-identity-status', 'x-service-roles', 'x-auth-token']) {
        t.notOk(header in sent, `${header} is not forwarded`)
      }
      const remove = await fetch(`${gateway.url}/v2/${P}/snapshots/${S}`, { method: 'DELETE', headers: { 'X-Auth-Token': reader } })
      t.equal(remove.status, 403)
      t.match(await remove.json(), { forbidden: { code: 403, message: 'Policy doesn\'t allow evs:snapshots:delete to be performed.' } })
      const none = await fetch(`${gateway.url}/v2/${P}/snapshots`)
      const otherKey = sign({ project_id: P }, 'another key')
      const refused = await fetch(`${gateway.url}/v2/${P}/snapshots`, { headers: { 'X-Auth-Token': otherKey } })
      for (const [what, response] of [['no token', none], ['a token signed with another key', refused]] as const) {
        t.equal(response.status, 401, what)
        t.match(response.headers.get('content-type'), /application\/json/, `${what}: JSON, not an HTML error page`)
        t.match(await response.json(), { error: { code: 401, title: 'Unauthorized' } }, what)
      }
      if (name === 'fastify-quick-start') {
        const bad = await fetch(`${gateway.url}/v2/${P}/snapshots/%c0%af`, { headers: { 'X-Auth-Token': reader } })
        const envelope = { badRequest: { code: 400, message: 'Malformed request url' } }
        t.same([bad.status, await bad.json()], [400, envelope], 'a URL the router refuses: the envelope')
      }
      t.equal(upstream.seen.length, 1, 'denials never reach the backend')
      const admin = sign({ sub: 'alice', project_id: P, roles: ['te_admin'] })
      const body = JSON.stringify({ snapshot: { volume_id: '6f0c3ac5-8d1e-4a6b-b5f0-4b0e3e6c1a01', name: 'nightly' } })
      const headers = { 'X-Auth-Token': admin, 'Content-Type': 'application/json' }
      const create = await fetch(`${gateway.url}/v2/${P}/snapshots`, { method: 'POST', headers, body })
      t.equal(create.status, 200, 'an allowed write is forwarded')
      t.same([upstream.seen[1]?.method, upstream.seen[1]?.body], ['POST', body], 'with its body intact')
      const unauthenticated = (): number => decisionLines(gateway.output()).filter((l) => l['reason'] === 'no-credentials').length
      for (let waited = 0; waited < 3000 && unauthenticated() < 2; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const details = decisionLines(gateway.output()).filter((l) => l['reason'] === 'no-credentials').map((l) => l['detail'])
      t.match(details, [/^no token was sent/, /^a token was sent in X-Auth-Token/], 'the log tells no token from a refused one')
      t.notMatch(gateway.output(), reader.split('.')[2] ?? '?', 'the token is never logged')
      t.equal(await gateway.stop(), 'SIGTERM', 'SIGTERM stops it')
      await t.rejects(fetch(`${gateway.url}/v2/${P}/snapshots`), 'nothing listens any more')
    })
  }

  t.test('fastify-quick-start states and checks its JWT_KEY', async (t) => {
    const noKey = { PATH: process.env['PATH'] ?? '' }
    const run = await promisify(execFile)(process.execPath, ['fastify-quick-start.mjs'], { cwd: app, env: noKey })
      .then(() => undefined, (error: { code: number, stderr: string }) => error)
    t.equal(run?.code, 1)
    t.match(run?.stderr, /Set JWT_KEY to the key your tokens are signed with/)
  })

  t.test('metrics', async (t) => {
    const server = await start(app, 'metrics.mjs', {})
    t.teardown(() => server.stop())
    await fetch(`${server.url}/v2/${P}/snapshots`)
    await fetch(`${server.url}/v2/${P}/snapshots`)
    const text = await (await fetch(`${server.url}/metrics`)).text()
    t.match(text, /^# TYPE evs_authz_decisions_total counter\n/)
    t.match(text, 'evs_authz_decisions_total{decision="deny",reason="no-credentials",route="/v2/{project_id}/snapshots"} 2\n')
    t.equal(await server.stop(), 'SIGTERM')
  })

  t.test('the Options and TypeScript snippets compile under strict and exactOptionalPropertyTypes', async (t) => {
    // A control that must fail: the old Options snippet's `onDecision: undefined`.
    writeFileSync(join(app, 'control.ts'), [
      "import type { EvsAuthzOptions } from 'evs-authz'",
      '// @ts-expect-error exactOptionalPropertyTypes: an optional option is left out, not set to undefined',
      'export const old: EvsAuthzOptions = { onDecision: undefined }', ''
    ].join('\n'))
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: Object.fromEntries([
        ['strict', true], ['exactOptionalPropertyTypes', true], ['noUncheckedIndexedAccess', true], ['module', 'nodenext'],
        ['moduleResolution', 'nodenext'], ['target', 'es2022'], ['noEmit', true], ['skipLibCheck', true], ['types', ['node']]
      ]),
      files: ['options.ts', 'types.ts', 'control.ts']
    }))
    const tsc = await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app])
      .then(() => '', (error: { stdout: string }) => error.stdout)
    t.equal(tsc, '', 'tsc reports nothing')
  })
})
