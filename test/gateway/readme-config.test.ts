// The configuration example in the README section "In front of OpenStack (Keystone)" is a valid
// gateway configuration (an operator copies it), and the section names every configuration key.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadGatewayConfig } from '../../src/gateway/config.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const section = readme.slice(readme.indexOf('## In front of OpenStack (Keystone)'),
  readme.indexOf('\n## ', readme.indexOf('## In front of OpenStack (Keystone)') + 5))

t.test('the README configuration example loads', async (t) => {
  const example = /```json\n(\{\n {2}"listen"[\s\S]*?)\n```/.exec(section)?.[1]
  t.ok(example, 'the section has the example')
  const dir = mkdtempSync(join(tmpdir(), 'evs-readme-config-'))
  mkdirSync(join(dir, 'policies'))
  writeFileSync(join(dir, 'policies', 'auditor.json'),
    JSON.stringify({ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:list'] }] }))
  writeFileSync(join(dir, 'gateway.json'), example as string)
  const config = loadGatewayConfig(join(dir, 'gateway.json'), { EVS_GATEWAY_PASSWORD: 'pw' })
  t.match(config,
    { listen: { port: 8776 }, upstream: 'http://cinder.internal:8776', metrics: { port: 9464 }, authz: { unmatched: 'pass' } })
  t.ok('keystone' in config.identity)
  t.same(Object.keys(config.policies).sort(), ['auditor', 'snapshot-operator'])
})

t.test('the section documents every configuration key', async (t) => {
  for (const key of ['listen', 'upstream', 'identity.keystone', 'identity.jwt', 'policies', 'authz', 'metrics', 'logLevel', 'drainMs',
    'publicUrl', 'passwordEnv',
    'userDomainName', 'projectDomainName', 'applicationCredentialId', 'cacheSeconds', 'negativeCacheSeconds', 'timeoutMs',
    'maxEntries', 'defaultRoles', 'forwardIdentityHeaders']) {
    t.match(section, `\`${key}\``, key)
  }
})
