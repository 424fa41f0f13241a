// The Keystone validator against a fake Keystone on 127.0.0.1: cache (SHA-256 key, TTL, bounds),
// coalescing, negative caching that cannot poison, service-token handling, and every failure mode
// answered fail-closed with the right rejection.
import t from 'tap'
import fc from 'fast-check'
import { createServer } from 'node:net'
import { IdentityRejection, keystoneIdentity, type IdentityEvent, type KeystoneIdentityOptions } from '../../src/index.js'
import { keystoneOptionProblems, readTokenDocument } from '../../src/identity/keystone.js'
import { future, startFakeKeystone, type FakeKeystone } from './fake-keystone.js'

const PROJECT = '65634a1184494d689cd41fa6230e79f0'

async function rejectionOf (value: unknown): Promise<IdentityRejection> {
  try {
    await (typeof value === 'function' ? (value as () => unknown)() : value)
  } catch (error) {
    if (error instanceof IdentityRejection) return error
    throw error
  }
  throw new Error('expected an IdentityRejection, got claims')
}

function options (fake: FakeKeystone, extra: Partial<KeystoneIdentityOptions> = {}): KeystoneIdentityOptions {
  return {
    url: fake.url,
    publicUrl: 'https://identity.example/v3',
    credentials: { ...fake.user, projectName: 'service' },
    timeoutMs: 1000,
    ...extra
  }
}

let fake: FakeKeystone
t.before(async () => { fake = await startFakeKeystone() })
t.teardown(async () => { await fake.close() })
t.beforeEach(() => {
  fake.failure = 'none'
  fake.delayMs = 0
  fake.serviceLifetimeSeconds = 3600
})

t.test('a valid project token becomes the token claims; the next lookup is a synchronous cache hit', async (t) => {
  const identity = keystoneIdentity(options(fake))
  const token = fake.add({ project: { id: PROJECT, name: 'evs-a' }, roles: ['member', 'reader'], userId: 'a-member' })
  const before = fake.counts.validations
  const claims = await identity.claims(token)
  t.equal(claims.token.project.id, PROJECT)
  t.same(claims.token.roles.map((r) => r.name).sort(), ['member', 'reader'])
  t.equal(claims.token.user.id, 'a-member')
  t.ok(Object.isFrozen(claims.token.roles), 'claims are frozen: a caller cannot change a cached grant')
  const again = identity.claims(token)
  t.notOk(again instanceof Promise, 'a hit is answered without a promise')
  t.equal(again, claims, 'the same claims object (the compiled grant is reused)')
  t.equal(identity.claims(` ${token}\t`), claims, 'surrounding whitespace is not part of the token (as keystonemiddleware)')
  t.equal(fake.counts.validations - before, 1)
  t.match(identity.stats(), { entries: 1, hits: 2, misses: 1 })
})

t.test('what is sent: nocatalog, our service token, the caller token as X-Subject-Token, never allow_expired', async (t) => {
  const identity = keystoneIdentity(options(fake))
  const token = fake.add({ project: { id: PROJECT }, roles: ['reader'] })
  await identity.claims(token)
  const seen = fake.seen.at(-1)
  t.equal(seen?.url, '/v3/auth/tokens?nocatalog')
  t.equal(seen?.subjectToken, token)
  t.match(seen?.authToken, /^svc-/)
  t.notOk(fake.seen.some((s) => /allow_expired/i.test(s.url)), 'allow_expired is never sent')
})

t.test('50 concurrent misses for one token make one Keystone call', async (t) => {
  const identity = keystoneIdentity(options(fake))
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  fake.delayMs = 50
  const before = fake.counts.validations
  const all = await Promise.all(Array.from({ length: 50 }, () => identity.claims(token)))
  t.equal(fake.counts.validations - before, 1)
  t.equal(new Set(all).size, 1, 'every caller gets the same claims')
  t.match(identity.stats(), { misses: 1, coalesced: 49 })
})

t.test('a refused token: 401 with keystonemiddleware\'s challenge, cached briefly, never shadowing a valid token', async (t) => {
  const events: IdentityEvent[] = []
  const identity = keystoneIdentity(options(fake, { negativeCacheSeconds: 60, onEvent: (e) => events.push(e) }))
  const before = fake.counts.validations
  const garbage = 'gAAAAAnot-a-real-token'
  const first = await rejectionOf(identity.claims(garbage))
  t.equal(first.status, 401)
  t.equal(first.kind, 'invalid-token')
  t.equal(first.challenge, 'Keystone uri="https://identity.example/v3"')
  const second = await rejectionOf(() => identity.claims(garbage))
  t.equal(second.kind, 'invalid-token')
  t.equal(fake.counts.validations - before, 1, 'the second refusal came from the negative cache')
  t.ok(events.some((e) => e.type === 'cache' && e.result === 'negative-hit'))
  const valid = fake.add({ project: { id: PROJECT }, roles: ['reader'] })
  t.equal((await identity.claims(valid)).token.project.id, PROJECT, 'a valid token is unaffected by refusals of others')
})

t.test('property: interleaved garbage never changes the answer for a valid token (differential against Keystone\'s truth)', async (t) => {
  const identity = keystoneIdentity(options(fake, { negativeCacheSeconds: 60 }))
  const valid = fake.add({ project: { id: PROJECT }, roles: ['reader'] })
  const noise = fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom(`${valid}x`, valid.slice(0, -1), `x${valid}`, valid.toUpperCase(), `${valid} ${valid}`),
    fc.constant(valid)
  )
  await fc.assert(fc.asyncProperty(fc.array(noise, { minLength: 1, maxLength: 12 }), async (tokens) => {
    for (const token of tokens) {
      const truth = token.trim() === valid
      let accepted: boolean
      try {
        accepted = (await identity.claims(token)).token.project.id === PROJECT
      } catch (error) {
        if (!(error instanceof IdentityRejection) || error.status !== 401) throw error
        accepted = false
      }
      if (accepted !== truth) return false
    }
    return true
  }), { numRuns: 60 })
  t.pass('valid iff Keystone says valid, whatever came before')
})

t.test('no token, an empty, oversized or non-token value: 401 without asking Keystone', async (t) => {
  const identity = keystoneIdentity(options(fake))
  const before = fake.counts.validations
  for (const value of [undefined, '', '   ', 'a'.repeat(20_000), 'tok\nen', 'tök', 'two, tokens']) {
    const rejection = await rejectionOf(() => identity.claims(value))
    t.equal(rejection.status, 401, JSON.stringify(value?.slice(0, 20)))
    t.equal(rejection.challenge, 'Keystone uri="https://identity.example/v3"')
  }
  t.equal(fake.counts.validations, before)
  const missing = await rejectionOf(() => identity.grants({ headers: {} }))
  t.equal(missing.kind, 'no-token')
})

t.test('tokens that are not project-scoped get a 403 that names the scope', async (t) => {
  const identity = keystoneIdentity(options(fake))
  const cases = [
    { token: fake.add({ system: { all: true }, roles: ['admin'] }), scope: 'system scope' },
    { token: fake.add({ domain: { id: 'default', name: 'Default' }, roles: ['admin'] }), scope: 'domain scope' },
    { token: fake.add({}), scope: 'unscoped' }
  ]
  for (const { token, scope } of cases) {
    const rejection = await rejectionOf(identity.claims(token))
    t.equal(rejection.status, 403)
    t.equal(rejection.kind, 'not-project-scoped')
    t.equal(rejection.detail, scope)
  }
})

t.test('Keystone failures are 503 (identity-unavailable), never cached, never an allow', async (t) => {
  const identity = keystoneIdentity(options(fake, { timeoutMs: 1000 }))
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  for (const failure of ['status-500', 'status-403', 'garbage', 'hang', 'no-roles', 'service-401-always'] as const) {
    fake.failure = failure
    const before = fake.counts.validations
    const rejection = await rejectionOf(identity.claims(token))
    t.equal(rejection.status, 503, failure)
    t.equal(rejection.kind, 'identity-unavailable', failure)
    t.ok(fake.counts.validations > before, `${failure}: Keystone was asked`)
  }
  fake.failure = 'none'
  t.equal((await identity.claims(token)).token.project.id, PROJECT,
    'once Keystone answers again the token is accepted (no failure was cached)')
})

t.test('Keystone unreachable (nothing listens) is 503; reachable() says false', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  const identity = keystoneIdentity({
    url: `http://127.0.0.1:${port}`,
    credentials: { username: 'u', password: 'p', projectName: 'service' },
    timeoutMs: 500
  })
  const rejection = await rejectionOf(identity.claims('gAAAAAsomething'))
  t.equal(rejection.status, 503)
  t.match(rejection.detail, /service token/)
  t.equal(await identity.reachable(), false)
  t.equal(await keystoneIdentity(options(fake)).reachable(), true)
})

t.test('a reset connection is retried once; a refused service token is renewed once, then the validation retried', async (t) => {
  const identity = keystoneIdentity(options(fake))
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  fake.failure = 'reset-once'
  t.equal((await identity.claims(token)).token.project.id, PROJECT)
  identity.clear()
  fake.failure = 'service-401-once'
  const issues = fake.counts.issues
  t.equal((await identity.claims(token)).token.project.id, PROJECT)
  t.equal(fake.counts.issues - issues, 1, 'one re-authentication')
})

t.test('the service token is issued once, then renewed before it expires', async (t) => {
  let clock = Date.now()
  const identity = keystoneIdentity(options(fake, { now: () => clock, cacheSeconds: 0 }))
  fake.serviceLifetimeSeconds = 400
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  const issues = fake.counts.issues
  await identity.claims(token)
  await identity.claims(token)
  t.equal(fake.counts.issues - issues, 1, 'one issue for two validations')
  clock += 301_000 // 99 s left of 400: inside the renewal window (a quarter of the lifetime)
  await identity.claims(token)
  t.equal(fake.counts.issues - issues, 2, 'renewed before expiry')
})

t.test('an entry lives until the earlier of expires_at and cacheSeconds; cacheSeconds 0 asks every time', async (t) => {
  let clock = Date.now()
  const identity = keystoneIdentity(options(fake, { now: () => clock }))
  const short = fake.add({ project: { id: PROJECT }, roles: ['member'], expiresAt: future(30) })
  await identity.claims(short)
  t.equal(identity.claims(short) instanceof Promise, false, 'cached while unexpired')
  clock += 31_000
  const before = fake.counts.validations
  const rejection = await rejectionOf(() => identity.claims(short))
  t.equal(rejection.status, 401, 'past expires_at the cached entry is not used')
  t.equal(fake.counts.validations - before, 0, 'an expired token is refused locally')

  const uncached = keystoneIdentity(options(fake, { cacheSeconds: 0 }))
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  const start = fake.counts.validations
  await uncached.claims(token)
  await uncached.claims(token)
  t.equal(fake.counts.validations - start, 2)
  fake.revoke(token)
  t.equal((await rejectionOf(uncached.claims(token))).status, 401, 'with cacheSeconds 0 a revocation is seen at once')
})

t.test('revocation takes effect once cacheSeconds has passed', async (t) => {
  const identity = keystoneIdentity(options(fake, { cacheSeconds: 1, negativeCacheSeconds: 0 }))
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  await identity.claims(token)
  fake.revoke(token)
  t.equal(identity.claims(token) instanceof Promise, false, 'still cached right after the revocation (documented)')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await rejectionOf(identity.claims(token))).status, 401)
})

t.test('the cache is bounded (LRU): the oldest entries go first', async (t) => {
  const identity = keystoneIdentity(options(fake, { maxEntries: 3 }))
  const tokens = Array.from({ length: 5 }, () => fake.add({ project: { id: PROJECT }, roles: ['reader'] }))
  for (const token of tokens) await identity.claims(token)
  t.equal(identity.stats().entries, 3)
  t.equal(identity.claims(tokens[4] as string) instanceof Promise, false, 'the newest is cached')
  const oldest = identity.claims(tokens[0] as string)
  t.ok(oldest instanceof Promise, 'the oldest was evicted')
  await oldest
})

t.test('logs never contain the token or the password', async (t) => {
  const lines: string[] = []
  const log = {
    warn: (f: object, m: string) => lines.push(JSON.stringify(f) + m),
    error: (f: object, m: string) => lines.push(JSON.stringify(f) + m)
  }
  const identity = keystoneIdentity(options(fake, { log, timeoutMs: 1000 }))
  const token = fake.add({ project: { id: PROJECT }, roles: ['member'] })
  for (const failure of ['status-500', 'garbage', 'hang'] as const) {
    fake.failure = failure
    await rejectionOf(identity.claims(token))
  }
  t.ok(lines.length >= 3)
  for (const line of lines) {
    t.notOk(line.includes(token), 'no token in logs')
    t.notOk(line.includes(fake.user.password), 'no password in logs')
  }
})

t.test('option problems are all listed, credentials never echoed', async (t) => {
  const problems = keystoneOptionProblems({
    url: 'ftp://x',
    publicUrl: 'nope',
    credentials: { username: '', password: 'hunter2', projectName: 7 as unknown as string },
    cacheSeconds: -1,
    timeoutMs: 0
  })
  t.equal(problems.length, 6, problems.join('\n'))
  t.notOk(problems.join('\n').includes('hunter2'))
  t.throws(() => keystoneIdentity({ url: 'x' } as unknown as KeystoneIdentityOptions), /Invalid Keystone identity options/)
  t.same(keystoneOptionProblems({
    url: 'http://k:5000/v3',
    credentials: { applicationCredentialId: 'id', applicationCredentialSecret: 's' }
  }), [])
})

t.test('readTokenDocument: hostile bodies are unreadable, never claims', async (t) => {
  const now = Date.now()
  const expires = future(60)
  for (const body of [null, 'x', [], { token: [] }, { token: { expires_at: 'soon' } },
    { token: { expires_at: expires, project: { id: PROJECT }, roles: [{}] } },
    { token: { expires_at: expires, project: { id: PROJECT }, roles: 'admin' } },
    JSON.parse(`{"token":{"expires_at":"${expires}","project":{"id":"${PROJECT}"},"__proto__":{"roles":[{"name":"admin"}]}}}`)]) {
    t.equal(readTokenDocument(body, now).kind, 'unreadable', JSON.stringify(body))
  }
  t.equal(readTokenDocument({ token: { expires_at: future(-1), project: { id: PROJECT }, roles: [] } }, now).kind, 'expired')
})
