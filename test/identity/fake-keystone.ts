// A scriptable stand-in for Keystone's token API on 127.0.0.1 (an OS-assigned port): issues service
// tokens for one service user, validates subject tokens from a table, and can fail on demand. It counts
// what it was asked, so tests can assert how many calls reached "Keystone".
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SubjectToken {
  readonly project?: { id: string, name?: string, domain?: { id: string, name: string } }
  readonly system?: { all: boolean }
  readonly domain?: { id: string, name: string }
  readonly roles?: string[]
  readonly userId?: string
  readonly expiresAt?: string
}

export type Failure = 'none' | 'status-500' | 'status-403' | 'garbage' | 'hang' | 'reset-once' | 'service-401-once' |
  'service-401-always' | 'no-roles'

export interface FakeKeystone {
  readonly url: string
  readonly port: number
  /** Adds a subject token (a fernet-looking string) and returns it. */
  add (token: SubjectToken): string
  revoke (token: string): void
  failure: Failure
  /** Milliseconds to wait before answering a validation. */
  delayMs: number
  /** Lifetime of issued service tokens, seconds. */
  serviceLifetimeSeconds: number
  readonly counts: { issues: number, validations: number, versions: number }
  /** Every validation's query string and headers (to check what was sent). */
  readonly seen: Array<{
    url: string
    authToken: string | undefined
    subjectToken: string | undefined
    headers: IncomingMessage['headers']
  }>
  readonly user: { username: string, password: string }
  close (): Promise<void>
}

const future = (seconds: number): string => new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '.000000Z')

export async function startFakeKeystone (): Promise<FakeKeystone> {
  const subjects = new Map<string, SubjectToken>()
  const serviceTokens = new Set<string>()
  const user = { username: 'evs-gateway', password: randomBytes(8).toString('hex') }
  let resetDone = false
  let service401Done = false
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
    res.end(text)
  }
  const fake: FakeKeystone = {
    url: '',
    port: 0,
    failure: 'none',
    delayMs: 0,
    serviceLifetimeSeconds: 3600,
    counts: { issues: 0, validations: 0, versions: 0 },
    seen: [],
    user,
    add (token) {
      const value = `gAAAAA${randomBytes(120).toString('base64url')}`
      subjects.set(value, token)
      return value
    },
    revoke (token) { subjects.delete(token) },
    close: async () => await new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const path = (req.url ?? '').split('?')[0]
    if (req.method === 'GET' && path === '/v3') {
      fake.counts.versions++
      send(res, 200, { version: { id: 'v3.14', status: 'stable' } })
      return
    }
    if (req.method === 'POST' && path === '/v3/auth/tokens') {
      fake.counts.issues++
      const body =
        JSON.parse(Buffer.concat(chunks)
          .toString('utf8')) as { auth: { identity: { password: { user: { name: string, password: string } } } } }
      const given = body.auth.identity.password.user
      if (given.name !== user.username || given.password !== user.password) {
        send(res, 401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } })
        return
      }
      const token = `svc-${randomBytes(16).toString('hex')}`
      serviceTokens.add(token)
      send(res, 201,
        { token: { expires_at: future(fake.serviceLifetimeSeconds), roles: [{ name: 'service' }], project: { id: 'service' } } },
        { 'x-subject-token': token })
      return
    }
    if (req.method === 'GET' && path === '/v3/auth/tokens') {
      fake.counts.validations++
      const authToken = req.headers['x-auth-token'] as string | undefined
      const subjectToken = req.headers['x-subject-token'] as string | undefined
      fake.seen.push({ url: req.url ?? '', authToken, subjectToken, headers: req.headers })
      if (fake.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.delayMs))
      switch (fake.failure) {
        case 'hang': return // never answers; the client's timeout must fire
        case 'status-500': send(res, 500, { error: { code: 500, message: 'boom', title: 'Internal Server Error' } }); return
        case 'status-403': send(res, 403,
          {
            error: {
              code: 403,
              message: 'You are not authorized to perform the requested action: identity:validate_token.',
              title: 'Forbidden'
            }
          }); return
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end('{"token": [not json')
          return
        case 'reset-once':
          if (!resetDone) {
            resetDone = true
            req.socket.destroy()
            return
          }
          break
        case 'service-401-once':
          if (!service401Done) {
            service401Done = true
            serviceTokens.clear()
          }
          break
        case 'service-401-always':
          serviceTokens.clear()
          break
        case 'no-roles':
        case 'none':
          break
      }
      if (authToken === undefined || !serviceTokens.has(authToken)) {
        send(res, 401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
          { 'www-authenticate': `Keystone uri="${fake.url}/v3"` })
        return
      }
      const subject = subjectToken === undefined ? undefined : subjects.get(subjectToken)
      if (subject === undefined || (subject.expiresAt !== undefined && Date.parse(subject.expiresAt) <= Date.now())) {
        send(res, 404, { error: { code: 404, message: 'Failed to validate token', title: 'Not Found' } })
        return
      }
      const document: Record<string, unknown> = {
        methods: ['password'],
        user: { id: subject.userId ?? 'u-1', name: subject.userId ?? 'u-1', domain: { id: 'default', name: 'Default' } },
        audit_ids: ['abc'],
        expires_at: subject.expiresAt ?? future(3600),
        issued_at: future(0)
      }
      if (subject.project !== undefined) document['project'] = { domain: { id: 'default', name: 'Default' }, ...subject.project }
      if (subject.system !== undefined) document['system'] = subject.system
      if (subject.domain !== undefined) document['domain'] = subject.domain
      if (subject.roles !== undefined && fake.failure !== 'no-roles') {
        document['roles'] = subject.roles.map((name, i) => ({ id: `r${i}`, name }))
      }
      send(res, 200, { token: document }, { 'x-subject-token': subjectToken ?? '', vary: 'X-Auth-Token' })
      return
    }
    send(res, 404, { error: { code: 404, message: 'not here', title: 'Not Found' } })
  }
  const server: Server = createServer((req, res) => { handle(req, res).catch(() => res.destroy()) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  Object.assign(fake, { port, url: `http://127.0.0.1:${port}` })
  return fake
}

export { future }
