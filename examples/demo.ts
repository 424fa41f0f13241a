// The demo behind `npm start`: the in-memory EVS backend and the gateway in front of it, both on 127.0.0.1, then
// ready-to-use tokens for a few personas and curl commands that show allow, 403 and 401.
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { DEMO, buildEvsBackend } from './evs-backend.js'
import { buildGateway } from './gateway.js'

/** The embedded backend's own endpoint that puts its seed data back. */
const RESET = '/demo/reset'

export interface Persona {
  readonly name: string
  readonly claims: Record<string, unknown>
}

export const personas: readonly Persona[] = [
  { name: 'admin', claims: { sub: 'alice', project_id: DEMO.project, roles: ['te_admin'] } },
  { name: 'readonly', claims: { sub: 'bob', project_id: DEMO.project, roles: ['readonly'] } },
  {
    name: 'operator',
    claims: {
      sub: 'carol',
      project_id: DEMO.project,
      actions: ['evs:snapshots:create', 'evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:update', 'evs:snapshots:rollback',
        'evs:volumes:get']
    }
  },
  { name: 'other', claims: { sub: 'dave', project_id: DEMO.otherProject, roles: ['te_admin'] } },
  // EVS FullAccess, but only in the dev enterprise project: cloudsnapshots of dev volumes, nothing else.
  {
    name: 'ep_dev',
    claims: { sub: 'erin', project_id: DEMO.project, enterprise_projects: [{ id: DEMO.devEp, roles: ['EVS FullAccess'] }] }
  }
]

export interface Demo {
  readonly gatewayUrl: string
  readonly upstreamUrl: string
  readonly tokens: Readonly<Record<string, string>>
  readonly curls: ReadonlyArray<{
    readonly expect: number
    readonly what: string
    readonly persona: string | undefined
    readonly method: string
    readonly path: string
    readonly body?: unknown
  }>
  close (): Promise<void>
}

export interface DemoOptions {
  readonly port?: number
  readonly upstream?: string
  readonly secret?: string
  readonly serviceToken?: string
  /** Log to stdout (decision lines: denials at info, allows at debug). */
  readonly logger?: boolean
  /** The pino level when logging (default `info`; `debug` shows allowed requests too). */
  readonly logLevel?: string
}

export async function startDemo (options: DemoOptions = {}): Promise<Demo> {
  const secret = options.secret ?? randomBytes(32).toString('hex')
  const backend = options.upstream === undefined ? buildEvsBackend() : undefined
  let upstreamUrl = options.upstream ?? ''
  if (backend !== undefined) {
    await backend.listen({ host: '127.0.0.1', port: 0 })
    upstreamUrl = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}`
  }
  const gateway = await buildGateway({
    upstream: upstreamUrl,
    secret,
    serviceToken: options.serviceToken ?? 'demo-service-token',
    logger: options.logger === true ? { level: options.logLevel ?? 'info' } : false
  })
  await gateway.listen({ host: '127.0.0.1', port: options.port ?? 8080 })
  const gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`
  const tokens = Object.fromEntries(personas.map((p) => [p.name, gateway.jwt.sign(p.claims, { expiresIn: '24h' })]))
  const p = `/v2/${DEMO.project}`
  const curls = [
    // The commands below rename and delete: with the embedded backend, this first one restores its data.
    ...(backend === undefined
      ? []
      : [{
          expect: 204,
          what: 'restore the demo data (run the whole list again from here)',
          persona: undefined,
          method: 'POST',
          path: RESET
        }]),
    { expect: 200, what: 'read-only lists snapshots', persona: 'readonly', method: 'GET', path: `${p}/snapshots/detail` },
    {
      expect: 403,
      what: 'read-only may not create a snapshot',
      persona: 'readonly',
      method: 'POST',
      path: `${p}/cloudsnapshots`,
      body: { snapshot: { volume_id: DEMO.volume, name: 'manual' } }
    },
    {
      expect: 200,
      what: 'operator renames a snapshot',
      persona: 'operator',
      method: 'PUT',
      path: `${p}/cloudsnapshots/${DEMO.snapshot}`,
      body: { snapshot: { name: 'db-nightly-renamed' } }
    },
    {
      expect: 403,
      what: 'operator may not delete (no evs:snapshots:delete)',
      persona: 'operator',
      method: 'DELETE',
      path: `${p}/snapshots/${DEMO.devSnapshot}`
    },
    {
      expect: 403,
      what: 'another project\'s admin is refused here',
      persona: 'other',
      method: 'GET',
      path: `${p}/snapshots/${DEMO.snapshot}`
    },
    { expect: 401, what: 'no token', persona: undefined, method: 'GET', path: `${p}/snapshots` },
    {
      expect: 200,
      what: 'EP-scoped user reads a snapshot of a dev-EP volume',
      persona: 'ep_dev',
      method: 'GET',
      path: `${p}/cloudsnapshots/${DEMO.devSnapshot}`
    },
    {
      expect: 403,
      what: 'EP-scoped user may not read a production-EP snapshot',
      persona: 'ep_dev',
      method: 'GET',
      path: `${p}/cloudsnapshots/${DEMO.snapshot}`
    },
    {
      expect: 200,
      what: 'EP-scoped user lists the dev EP',
      persona: 'ep_dev',
      method: 'GET',
      path: `${p}/cloudsnapshots/detail?enterprise_project_id=${DEMO.devEp}`
    },
    {
      expect: 403,
      what: 'EP-scoped grants do not count on Cinder routes',
      persona: 'ep_dev',
      method: 'GET',
      path: `${p}/snapshots/${DEMO.devSnapshot}`
    },
    { expect: 400, what: 'a path-confusion spelling', persona: 'admin', method: 'GET', path: `${p}/snapshots/%64etail` },
    { expect: 202, what: 'admin deletes a snapshot', persona: 'admin', method: 'DELETE', path: `${p}/snapshots/${DEMO.devSnapshot}` }
  ]
  return {
    gatewayUrl,
    upstreamUrl,
    tokens,
    curls,
    async close () {
      await gateway.close()
      await backend?.close()
    }
  }
}

/** The curl command line for one example, with the token in a shell variable. */
export function curlCommand (gatewayUrl: string, example: Demo['curls'][number]): string {
  const parts = ['curl -s -i', `-X ${example.method}`]
  if (example.persona !== undefined) parts.push(`-H "X-Auth-Token: $TOKEN_${example.persona.toUpperCase()}"`)
  if (example.body !== undefined) parts.push(`-H 'Content-Type: application/json' -d '${JSON.stringify(example.body)}'`)
  parts.push(`'${gatewayUrl}${example.path}'`)
  return parts.join(' ')
}

export function describeDemo (demo: Demo): string {
  const lines = [
    `evs-authz demo gateway on ${demo.gatewayUrl} -> EVS backend ${demo.upstreamUrl}`,
    '',
    'Tokens (HS256, valid 24 h, for this run only):',
    ...Object.entries(demo.tokens).map(([name, token]) => `export TOKEN_${name.toUpperCase()}='${token}'`),
    '',
    'Try (expected status first):',
    ...demo.curls.flatMap((c) => [`# ${c.expect}: ${c.what}`, curlCommand(demo.gatewayUrl, c)]),
    '',
    'Decision lines are logged to stdout: denials at info, allowed requests too with LOG_LEVEL=debug npm start.',
    'Ctrl-C stops both servers.'
  ]
  return lines.join('\n')
}
