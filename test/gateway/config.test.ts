// Configuration forms beyond the gateway tests: identities and keys, every value checked with a
// precise message, and the `evs-authz gateway` command's own exit statuses.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GatewayConfigError, parseGatewayConfig } from '../../src/gateway/config.js'
import { runGatewayCommand } from '../../src/gateway/main.js'
import { main } from '../../src/cli.js'

const base = { listen: { port: 1 }, upstream: 'http://b:1' }
const dir = mkdtempSync(join(tmpdir(), 'evs-gw-config-'))
const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
writeFileSync(join(dir, 'key.pem'), pem)

function problemsOf (json: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseGatewayConfig(json, dir, env)
    return []
  } catch (error) {
    if (error instanceof GatewayConfigError) return [...error.problems]
    throw error
  }
}

t.test('valid identities', async (t) => {
  const appCredential =
    parseGatewayConfig({
      ...base,
      identity: { keystone: { url: 'https://k.example/v3', applicationCredentialId: 'id', applicationCredentialSecretEnv: 'S' } }
    }, dir, { S: 'secret' })
  t.match(appCredential.identity,
    {
      keystone: {
        options: { credentials: { applicationCredentialId: 'id', applicationCredentialSecret: 'secret' } },
        defaultRoles: true,
        forwardIdentityHeaders: false
      }
    })
  const file =
    parseGatewayConfig({
      ...base,
      identity: { jwt: { publicKeyFile: 'key.pem', algorithms: ['ES256'], issuer: 'iss', audience: 'aud' } }
    }, dir, {})
  t.match(file.identity, { jwt: { key: pem, kind: 'public', algorithms: ['ES256'], issuer: 'iss', audience: 'aud' } })
  const inline = parseGatewayConfig({ ...base, identity: { jwt: { publicKey: pem } } }, dir, {})
  t.match(inline.identity, { jwt: { kind: 'public', algorithms: ['RS256'] } })
  const fromEnv =
    parseGatewayConfig({
      ...base,
      identity: { jwt: { secretEnv: 'K' } },
      authz: { projectIdPattern: '^[0-9a-f]{32}$', mode: 'audit', bodyLimit: 100 },
      logLevel: 'debug',
      drainMs: 0
    }, dir, { K: 'k' })
  t.match(fromEnv,
    {
      identity: { jwt: { key: 'k', kind: 'secret', algorithms: ['HS256'] } },
      authz: { mode: 'audit', bodyLimit: 100 },
      logLevel: 'debug',
      drainMs: 0
    })
  t.ok(fromEnv.authz.projectIdPattern instanceof RegExp)
})

t.test('every invalid value gets a precise problem', async (t) => {
  const cases: Array<[string, unknown, RegExp, NodeJS.ProcessEnv?]> = [
    ['listen not an object', { ...base, listen: 8080, identity: { jwt: { secret: 's' } } }, /^listen: should be/],
    ['listen host empty', { ...base, listen: { host: '', port: 1 }, identity: { jwt: { secret: 's' } } }, /^listen.host/],
    ['port out of range', { ...base, listen: { port: 70000 }, identity: { jwt: { secret: 's' } } }, /^listen.port/],
    ['drainMs negative', { ...base, drainMs: -1, identity: { jwt: { secret: 's' } } }, /^drainMs/],
    ['identity with two kinds', { ...base, identity: { jwt: {}, keystone: {} } }, /^identity: should be/],
    ['keystone not an object', { ...base, identity: { keystone: 'x' } }, /^identity.keystone: should be an object/],
    ['jwt not an object', { ...base, identity: { jwt: 'x' } }, /^identity.jwt: should be an object/],
    ['jwt unknown key', { ...base, identity: { jwt: { secret: 's', alg: 'none' } } }, /identity.jwt.alg: unknown key/],
    ['jwt two keys', { ...base, identity: { jwt: { secret: 's', publicKey: pem } } }, /exactly one of/],
    ['jwt key file missing', { ...base, identity: { jwt: { publicKeyFile: 'absent.pem' } } }, /publicKeyFile: cannot read/],
    ['jwt public key not a string', { ...base, identity: { jwt: { publicKey: 1 } } }, /publicKey: should be a PEM string/],
    ['jwt algorithm unknown', { ...base, identity: { jwt: { publicKey: pem, algorithms: ['none'] } } },
      /algorithms: should be a non-empty list/],
    ['jwt public key with HS256', { ...base, identity: { jwt: { publicKey: pem, algorithms: ['HS256'] } } },
      /HS\* algorithms go with a secret/],
    ['jwt issuer not a string', { ...base, identity: { jwt: { secret: 's', issuer: 1 } } }, /issuer: should be a string/],
    ['secretEnv not a name', { ...base, identity: { jwt: { secretEnv: '' } } }, /secretEnv: should name an environment variable/],
    ['secret empty', { ...base, identity: { jwt: { secret: '' } } }, /secret: should be a non-empty string/],
    ['keystone without password', { ...base, identity: { keystone: { url: 'http://k', username: 'u', projectName: 'p' } } },
      /password or passwordEnv is required/],
    ['keystone flag not boolean',
      { ...base, identity: { keystone: { url: 'http://k', username: 'u', password: 'p', projectName: 'p', defaultRoles: 'yes' } } },
      /defaultRoles: should be true or false/],
    ['policies not an object', { ...base, identity: { jwt: { secret: 's' } }, policies: [] }, /^policies: should be an object/],
    ['authz not an object', { ...base, identity: { jwt: { secret: 's' } }, authz: 'deny' }, /^authz: should be an object/],
    ['projectIdPattern not a string', { ...base, identity: { jwt: { secret: 's' } }, authz: { projectIdPattern: 1 } },
      /projectIdPattern: should be a regular expression source/],
    ['projectIdPattern invalid', { ...base, identity: { jwt: { secret: 's' } }, authz: { projectIdPattern: '(' } },
      /^authz.projectIdPattern: Invalid regular expression/],
    ['bodyLimit zero', { ...base, identity: { jwt: { secret: 's' } }, authz: { bodyLimit: 0 } }, /authz.bodyLimit/]
  ]
  for (const [name, json, pattern, env] of cases) {
    const problems = problemsOf(json, env)
    t.ok(problems.some((p) => pattern.test(p)), `${name}: ${problems.join(' | ')}`)
  }
})

t.test('evs-authz gateway: usage and configuration errors exit 2 with the reason', async (t) => {
  const io = (): { out: string[], err: string[], io: { out: (s: string) => void, err: (s: string) => void } } => {
    const out: string[] = []
    const err: string[] = []
    return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } }
  }
  const help = io()
  t.equal(await runGatewayCommand(['--help'], help.io), 0)
  t.match(help.out.join(''), /Usage: evs-authz gateway --config FILE/)
  const none = io()
  t.equal(await runGatewayCommand([], none.io), 2)
  t.match(none.err.join(''), /--config FILE is required/)
  const unknown = io()
  t.equal(await runGatewayCommand(['--port', '1'], unknown.io), 2)
  t.match(unknown.err.join(''), /Unknown option/)
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ listen: {}, upstream: 'x' }))
  const bad = io()
  t.equal(await runGatewayCommand(['--config', join(dir, 'bad.json')], bad.io), 2)
  t.match(bad.err.join(''), /invalid gateway configuration .* \(3 problems\)/)
  writeFileSync(join(dir, 'busy.json'),
    JSON.stringify({ ...base, listen: { host: '127.0.0.1', port: 18840 }, identity: { jwt: { secret: 's' } }, logLevel: 'silent' }))
  const { createServer } = await import('node:net')
  const holder = createServer().listen(18840, '127.0.0.1')
  await new Promise((resolve) => holder.once('listening', resolve))
  const busy = io()
  t.equal(await runGatewayCommand(['--config', join(dir, 'busy.json')], busy.io), 1, 'a port in use: exit 1')
  t.match(busy.err.join(''), /cannot listen: EADDRINUSE/)
  holder.close()

  // Through the CLI: the subcommand is dispatched to the gateway module (loaded lazily).
  const viaCli = io()
  const exitCode = process.exitCode
  t.equal(main(['gateway', '--help'], viaCli.io), 0)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.match(viaCli.out.join(''), /Usage: evs-authz gateway/)
  process.exitCode = exitCode
})
