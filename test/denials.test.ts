// Denials that say what to do: no token vs a refused token in the decision line, unknown roles named.
import t from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import express from 'express'
import { inject } from 'light-my-request'
import { pino } from 'pino'
import evsAuthz, { createAuthorizer } from 'evs-authz'
import evsAuthzExpress from 'evs-authz/express'

const P = '0123456789abcdef0123456789abcdef'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.not-a-valid-token.sig'

function lines (): { lines: Array<Record<string, unknown>>, stream: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _e, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      cb()
    }
  })
  return { lines, stream }
}

/** Both adapters, with an authentication step that accepts nothing (as when a token fails verification). */
interface Sent { status: number, line: Record<string, unknown> | undefined, raw: string }

async function adapters (): Promise<Array<{ name: string, send: (headers: Record<string, string>) => Promise<Sent> }>> {
  const f = lines()
  const fastify = Fastify({ loggerInstance: pino(f.stream) })
  await fastify.register(evsAuthz, { grants: () => undefined })
  fastify.all('/*', async () => 'reached')
  const e = lines()
  const app = express().use(evsAuthzExpress({ logger: pino(e.stream), grants: () => undefined }))
  const pick = (all: Array<Record<string, unknown>>): Record<string, unknown> | undefined =>
    all.find((l) => l['msg'] === 'evs-authz decision')
  return [
    {
      name: 'fastify',
      async send (headers) {
        f.lines.length = 0
        const response = await fastify.inject({ method: 'GET', url: `/v2/${P}/snapshots`, headers })
        return { status: response.statusCode, line: pick(f.lines), raw: JSON.stringify(f.lines) }
      }
    },
    {
      name: 'express',
      async send (headers) {
        e.lines.length = 0
        const response = await inject(app, { method: 'GET', url: `/v2/${P}/snapshots`, headers })
        return { status: response.statusCode, line: pick(e.lines), raw: JSON.stringify(e.lines) }
      }
    }
  ]
}

t.test('"no token" and "a token nobody accepted" are the same 401 but different decision lines', async (t) => {
  const cases: ReadonlyArray<[string, Record<string, string>, RegExp]> = [
    ['no token', {}, /^no token was sent/],
    ['an empty X-Auth-Token', { 'x-auth-token': '' }, /^no token was sent/],
    ['a refused X-Auth-Token', { 'x-auth-token': TOKEN }, /^a token was sent in X-Auth-Token but the authentication before evs-authz/],
    ['a refused Authorization header', { authorization: `Bearer ${TOKEN}` }, /^a token was sent in Authorization/]
  ]
  for (const adapter of await adapters()) {
    for (const [what, headers, detail] of cases) {
      const sent = await adapter.send(headers)
      t.equal(sent.status, 401, `${adapter.name}: ${what}`)
      t.equal(sent.line?.['reason'], 'no-credentials')
      t.match(sent.line?.['detail'], detail, `${adapter.name}: ${what}`)
      t.notMatch(sent.raw, 'not-a-valid-token', 'the token itself is never logged')
    }
  }
})

t.test('an unknown role is named in the denial, and stops being named once policies defines it', async (t) => {
  const url = `/v2/${P}/snapshots/${S}`
  const plain = createAuthorizer()
  const denied = plain.authorize({ method: 'DELETE', url }, { project_id: P, roles: ['snap_ops'] })
  t.equal(denied.reason, 'missing-action')
  t.equal(denied.detail, 'unknown role "snap_ops" granted nothing: add it to the policies option')
  const keystone = { token: { project: { id: P }, roles: [{ name: 'member' }, { name: 'reader' }] } }
  const tokenBody = plain.authorize({ method: 'GET', url }, keystone)
  t.match(tokenBody.detail, /^unknown roles "member", "reader" granted nothing: add them/, 'Keystone token roles too')
  const mixed = plain.authorize({ method: 'DELETE', url }, { project_id: P, roles: ['readonly', 'snap_ops'] })
  t.match(mixed.detail, /"snap_ops"/, 'known roles are not named')
  t.notMatch(mixed.detail, /readonly/)
  const allowed = plain.authorize({ method: 'GET', url }, { project_id: P, roles: ['readonly', 'snap_ops'] })
  t.same([allowed.kind, allowed.detail], ['allow', undefined], 'allows carry no such detail')
  const many = plain.authorize({ method: 'GET', url }, { project_id: P, roles: ['a', 'b', 'c', 'd', 'e', 'a'] })
  t.match(many.detail, /^unknown roles "a", "b", "c" and 2 more granted nothing/)
  const hostile = plain.authorize({ method: 'GET', url }, { project_id: P, roles: [`x\n{"level":60}${'y'.repeat(500)}`] })
  t.ok((hostile.detail ?? '').length < 160, 'shortened')
  t.notMatch(hostile.detail, /\n|\{"level"/, 'log-safe characters only')
  const snapOps = { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:get'] }] } as const
  const defined = createAuthorizer({ policies: { snap_ops: snapOps } })
  const withPolicy = defined.authorize({ method: 'DELETE', url }, { project_id: P, roles: ['snap_ops'] })
  t.same([withPolicy.reason, withPolicy.detail], ['missing-action', undefined])
})
