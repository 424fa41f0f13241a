// The deployable artefact: `npm pack`, install the tarball in a fresh directory, run
// `npx evs-authz gateway --config FILE` from there. Bad configuration exits 2 listing every problem;
// a good one (npx resolves the same bin) serves /healthz and exits 0 on SIGTERM and on SIGINT after draining.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function run (file: string, args: readonly string[], cwd: string, timeout = 240_000): Promise<{ code: number, out: string }> {
  return new Promise((resolve) => {
    execFile(file, args,
      { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: `${stdout}${stderr}` })
      })
  })
}

const dir = mkdtempSync(join(tmpdir(), 'evs-authz-packed-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('packed package in a fresh directory: the gateway runs from it', async (t) => {
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--ignore-scripts'], ROOT)
  t.equal(packed.code, 0, packed.out.slice(-2000))
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
  t.ok(tarball, 'a tarball')
  const app = join(dir, 'app')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), '{"name":"fresh","private":true}')
  const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball as string)], app)
  t.equal(installed.code, 0, installed.out.slice(-2000))

  writeFileSync(join(app, 'bad.json'), JSON.stringify({ listen: { port: 'x' }, upstream: 'nope', identity: {} }))
  const bad = await run('npx', ['--no-install', 'evs-authz', 'gateway', '--config', 'bad.json'], app, 60_000)
  t.equal(bad.code, 2, 'invalid configuration: exit 2')
  t.match(bad.out, /3 problems/)
  t.match(bad.out, /listen.port/)
  t.match(bad.out, /upstream/)
  t.match(bad.out, /identity/)

  writeFileSync(join(app, 'gw.json'), JSON.stringify({
    listen: { host: '127.0.0.1', port: 18830 },
    upstream: 'http://127.0.0.1:18831',
    identity: {
      keystone: { url: 'http://127.0.0.1:15099', username: 'evs-gateway', passwordEnv: 'EVS_GATEWAY_PASSWORD', projectName: 'service' }
    },
    metrics: { host: '127.0.0.1', port: 18832 }
  }))
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // The bin npx resolves to, run directly so the signal goes to the gateway itself.
    const child = spawn(join(app, 'node_modules', '.bin', 'evs-authz'), ['gateway', '--config', 'gw.json'],
      { cwd: app, env: { ...process.env, EVS_GATEWAY_PASSWORD: 'pw' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const deadline = Date.now() + 30_000
    while (!output.includes('evs-authz gateway listening') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    t.match(output, /evs-authz gateway listening/, `${signal}: started`)
    t.same(await (await fetch('http://127.0.0.1:18830/healthz')).json(), { status: 'alive' })
    t.match(await (await fetch('http://127.0.0.1:18832/metrics')).text(), /evs_authz_decisions_total/)
    child.kill(signal)
    t.equal(await exited, 0, `${signal}: drained and exited 0`)
  }
})
