// Child-process entry for the identity benchmark: `evs-authz gateway` (the real gateway code, built)
// with one identity, on 127.0.0.1 with an ephemeral port reported over IPC.
//   keystone <upstream>        Keystone identity against a fake Keystone in this process; the parent's
//                              token is validated once, then served from the cache (warm)
//   jwt      <upstream> <key>  the JWT identity (HS256, the demo scheme)
import { buildGateway } from '../../dist/gateway/server.js'
import { parseGatewayConfig } from '../../dist/gateway/config.js'
import { startFakeKeystone } from '../../test/identity/fake-keystone.js'
import { PROJECT } from './fixtures.js'

export interface IdentityReady { readonly port: number, readonly token?: string }

const [kind, upstream = '', key = ''] = process.argv.slice(2)
process.on('disconnect', () => process.exit(0))
let identity: unknown
let token: string | undefined
if (kind === 'keystone') {
  const fake = await startFakeKeystone()
  token = fake.add({ project: { id: PROJECT }, roles: ['te_admin'], userId: 'u-admin' })
  identity = {
    keystone: { url: fake.url, username: fake.user.username, password: fake.user.password, projectName: 'service', cacheSeconds: 3600 }
  }
} else {
  identity = { jwt: { secret: key } }
}
// Logs at warn: every request line and allow line skipped, as in the other gateway variants.
const config = parseGatewayConfig({ listen: { host: '127.0.0.1', port: 0 }, upstream, identity, logLevel: 'warn' }, process.cwd(), {})
const gateway = await buildGateway(config)
const { url } = await gateway.start()
const message: IdentityReady = { port: Number(new URL(url).port), ...(token === undefined ? {} : { token }) }
process.send?.(message)
