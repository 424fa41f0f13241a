// Keystone (and Huawei IAM, whose API is Keystone-compatible) token validation the way keystonemiddleware
// does it, plus what it lacks: GET /v3/auth/tokens?nocatalog with the gateway's own service token, a
// bounded cache keyed by the SHA-256 of the token, one Keystone call per token in flight, a brief
// negative cache kept apart from valid entries, explicit timeouts, and fail-closed errors the adapters
// answer as 401 / 403 / 503 (IdentityRejection). See docs/keystone.md.
import * as crypto from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { isRecord, ownValue } from '../core/index.js'
import { IdentityRejection } from './rejection.js'

/** The gateway's own credentials: a password (project-scoped) or an application credential. */
export type KeystoneCredentials =
  | {
    readonly username: string
    readonly password: string
    readonly userDomainName?: string
    readonly projectName: string
    readonly projectDomainName?: string
  }
  | { readonly applicationCredentialId: string, readonly applicationCredentialSecret: string }

export interface KeystoneIdentityOptions {
  /** Keystone's identity endpoint the gateway talks to, e.g. `http://127.0.0.1:15000` or `.../v3`. */
  readonly url: string
  /** The public identity URL named in `WWW-Authenticate: Keystone uri="..."` (default: `url`). */
  readonly publicUrl?: string
  readonly credentials: KeystoneCredentials
  /** Seconds a valid token is trusted without asking Keystone again (default 300; 0: ask every time). */
  readonly cacheSeconds?: number
  /** Seconds a token Keystone refused (404) is refused without asking again (default 2; 0: never cached). */
  readonly negativeCacheSeconds?: number
  /** Milliseconds a Keystone call may take (default 3000). */
  readonly timeoutMs?: number
  /** Most cached tokens (default 10000); invalid tokens have their own, smaller cache. */
  readonly maxEntries?: number
  /** Observes cache lookups and Keystone validations (metrics); what it throws is ignored. */
  readonly onEvent?: (event: IdentityEvent) => void
  /** Receives failures worth an operator's attention (never token material). */
  readonly log?: { warn (fields: object, message: string): void, error (fields: object, message: string): void }
  /** Clock in epoch milliseconds (default Date.now). */
  readonly now?: () => number
}

export type ValidationOutcome = 'valid' | 'invalid' | 'not-project-scoped' | 'unavailable'

export type IdentityEvent =
  | { readonly type: 'cache', readonly result: 'hit' | 'negative-hit' | 'miss' | 'coalesced' }
  | { readonly type: 'validation', readonly outcome: ValidationOutcome, readonly seconds: number }

/** What a valid project-scoped token becomes: the token document the grant reader understands. */
export interface KeystoneClaims {
  readonly token: {
    readonly project: { readonly id: string, readonly name: string | undefined, readonly domain: NameAndId | undefined }
    readonly user: { readonly id: string | undefined, readonly name: string | undefined, readonly domain: NameAndId | undefined }
    readonly roles: ReadonlyArray<{ readonly name: string }>
    readonly expires_at: string
  }
}

interface NameAndId { readonly id: string | undefined, readonly name: string | undefined }

export interface KeystoneIdentity {
  /** The claims of a caller's token, or an IdentityRejection (no token, invalid, not project-scoped, Keystone down). */
  claims (token: string | undefined): KeystoneClaims | Promise<KeystoneClaims>
  /** The adapters' `grants` option: reads `X-Auth-Token`. Synchronous on a cache hit. */
  readonly grants: (request: { readonly headers: Readonly<Record<string, string | readonly string[] | undefined>> }) =>
    KeystoneClaims | Promise<KeystoneClaims>
  /** Whether Keystone answers `GET /v3` within the timeout. */
  reachable (): Promise<boolean>
  /** Cache sizes and counts since start (for tests and metrics). */
  stats (): IdentityStats
  /** Forgets every cached token (e.g. after a mass revocation). */
  clear (): void
}

export interface IdentityStats {
  readonly entries: number
  readonly negativeEntries: number
  readonly hits: number
  readonly misses: number
  readonly coalesced: number
  /** Keystone calls that validated a caller's token. */
  readonly validations: number
}

type Outcome =
  | { readonly kind: 'valid', readonly claims: KeystoneClaims, readonly expiresAt: number }
  | { readonly kind: 'rejected', readonly rejection: IdentityRejection, readonly cacheMs: number }

/** Fernet tokens are 180-250 characters, PKI-style IAM tokens a few kB: anything longer is refused unread. */
const MAX_TOKEN_LENGTH = 16_384
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/
const MAX_BODY_BYTES = 1_048_576

/** SHA-256 of the token, base64: the one-shot crypto.hash (Node >= 20.12) is 2-3x faster than createHash. */
// @types/node declares it always present; Node 20 before 20.12 (which engines allows) lacks it.
const oneShot: ((algorithm: string, data: string, encoding: 'base64') => string) | undefined = crypto.hash
const tokenKey = oneShot === undefined
  ? (token: string): string => crypto.createHash('sha256').update(token).digest('base64')
  : (token: string): string => oneShot('sha256', token, 'base64')

/** Validates the options (every problem listed) and returns the validator. */
export function keystoneIdentity (options: KeystoneIdentityOptions): KeystoneIdentity {
  const problems = keystoneOptionProblems(options)
  if (problems.length > 0) throw new Error(`Invalid Keystone identity options:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  const base = options.url.replace(/\/+$/, '').replace(/\/v3$/, '')
  const challenge = `Keystone uri="${options.publicUrl ?? options.url}"`
  const cacheMs = (options.cacheSeconds ?? 300) * 1000
  const negativeMs = (options.negativeCacheSeconds ?? 2) * 1000
  const timeoutMs = options.timeoutMs ?? 3000
  const now = options.now ?? Date.now
  const onEvent = options.onEvent
  const log = options.log
  const max = options.maxEntries ?? 10_000
  // Valid tokens and refused ones live apart: a flood of garbage tokens cannot evict valid entries, and
  // a refusal can never replace or shadow a valid token's entry (valid entries are read first).
  const valid = new LRUCache<string, Extract<Outcome, { kind: 'valid' }>>({ max, ttlAutopurge: false })
  const refused = new LRUCache<string, Extract<Outcome, { kind: 'rejected' }>>({ max: Math.max(16, Math.ceil(max / 10)) })
  const inFlight = new Map<string, Promise<Outcome>>()
  const counts = { hits: 0, misses: 0, coalesced: 0, validations: 0 }
  const service = serviceTokenSource(base, options.credentials, timeoutMs, now)

  const emit = (event: IdentityEvent): void => {
    if (onEvent === undefined) return
    try {
      onEvent(event)
    } catch { /* metrics never decide */ }
  }

  function claims (raw: string | undefined): KeystoneClaims | Promise<KeystoneClaims> {
    // keystonemiddleware strips the token too; an empty one is no token.
    const token = raw?.trim()
    if (token === undefined || token === '') throw new IdentityRejection('no-token', 'no X-Auth-Token', challenge)
    if (token.length > MAX_TOKEN_LENGTH || !TOKEN_CHARACTERS.test(token)) {
      throw new IdentityRejection('invalid-token', 'the token is not a token (length or characters)', challenge)
    }
    const key = tokenKey(token)
    const hit = valid.get(key)
    if (hit !== undefined) {
      if (hit.expiresAt > now()) {
        counts.hits++
        emit({ type: 'cache', result: 'hit' })
        return hit.claims
      }
      // Past expires_at Keystone would refuse it too (allow_expired is never sent): no need to ask.
      valid.delete(key)
      counts.hits++
      emit({ type: 'cache', result: 'negative-hit' })
      throw new IdentityRejection('invalid-token', 'the token has expired', challenge)
    }
    const refusal = refused.get(key)
    if (refusal !== undefined) {
      counts.hits++
      emit({ type: 'cache', result: 'negative-hit' })
      throw refusal.rejection
    }
    let pending = inFlight.get(key)
    if (pending === undefined) {
      counts.misses++
      emit({ type: 'cache', result: 'miss' })
      pending = validate(token).then((outcome) => {
        store(key, outcome)
        return outcome
      }).finally(() => inFlight.delete(key))
      inFlight.set(key, pending)
    } else {
      counts.coalesced++
      emit({ type: 'cache', result: 'coalesced' })
    }
    return pending.then((outcome) => {
      if (outcome.kind === 'valid') return outcome.claims
      throw outcome.rejection
    })
  }

  function store (key: string, outcome: Outcome): void {
    if (outcome.kind === 'valid') {
      const ttl = Math.min(cacheMs, outcome.expiresAt - now())
      refused.delete(key)
      if (ttl > 0) valid.set(key, outcome, { ttl })
      return
    }
    if (outcome.cacheMs > 0 && !valid.has(key)) refused.set(key, outcome, { ttl: outcome.cacheMs })
  }

  async function validate (token: string): Promise<Outcome> {
    const started = process.hrtime.bigint()
    const outcome = await validateOnce(token, true)
    counts.validations++
    const kind: ValidationOutcome = outcome.kind === 'valid'
      ? 'valid'
      : outcome.rejection.kind === 'identity-unavailable'
        ? 'unavailable'
        : outcome.rejection.kind === 'not-project-scoped' ? 'not-project-scoped' : 'invalid'
    emit({ type: 'validation', outcome: kind, seconds: Number(process.hrtime.bigint() - started) / 1e9 })
    return outcome
  }

  const unavailable = (detail: string): Outcome =>
    ({ kind: 'rejected', rejection: new IdentityRejection('identity-unavailable', detail, challenge), cacheMs: 0 })

  async function validateOnce (token: string, mayRetry: boolean): Promise<Outcome> {
    let serviceToken: string
    try {
      serviceToken = await service.get()
    } catch (error) {
      const detail = `cannot get the gateway's service token: ${messageOf(error)}`
      log?.error({ keystone: base, detail }, 'keystone identity: service token')
      return unavailable(detail)
    }
    let response: KeystoneResponse
    try {
      response = await keystoneRequest(`${base}/v3/auth/tokens?nocatalog`, {
        method: 'GET',
        headers: { 'x-auth-token': serviceToken, 'x-subject-token': token, accept: 'application/json' }
      }, timeoutMs)
    } catch (error) {
      const detail = `token validation failed: ${messageOf(error)}`
      log?.error({ keystone: base, detail }, 'keystone identity: Keystone unreachable')
      return unavailable(detail)
    }
    if (response.status === 404) {
      return {
        kind: 'rejected',
        rejection: new IdentityRejection('invalid-token', 'Keystone refused the token (404)', challenge),
        cacheMs: negativeMs
      }
    }
    if (response.status === 401 && mayRetry) {
      // Our own token was refused (expired early, revoked, Keystone restarted with new keys): once more.
      service.invalidate(serviceToken)
      return await validateOnce(token, false)
    }
    if (response.status !== 200) {
      const hint = response.status === 403 ? ' (the service user needs the service role)' : ''
      const detail = `Keystone answered ${response.status} to a token validation${hint}`
      log?.error({ keystone: base, detail }, 'keystone identity: validation failed')
      return unavailable(detail)
    }
    const read = readTokenDocument(response.body, now())
    if (read.kind === 'unreadable') {
      log?.error({ keystone: base, detail: read.detail }, 'keystone identity: unreadable token document')
      return unavailable(`unreadable token document: ${read.detail}`)
    }
    if (read.kind === 'expired') {
      return {
        kind: 'rejected',
        rejection: new IdentityRejection('invalid-token', 'the token has expired', challenge),
        cacheMs: negativeMs
      }
    }
    if (read.kind === 'not-project-scoped') {
      // A 200 from Keystone: the scope will not change, so the refusal lives as long as a valid entry would.
      return {
        kind: 'rejected',
        rejection: new IdentityRejection('not-project-scoped', read.scope, challenge),
        cacheMs: Math.min(cacheMs, read.expiresAt - now())
      }
    }
    return { kind: 'valid', claims: read.claims, expiresAt: read.expiresAt }
  }

  async function reachable (): Promise<boolean> {
    try {
      return (await keystoneRequest(`${base}/v3`, { method: 'GET', headers: { accept: 'application/json' } }, timeoutMs)).status === 200
    } catch {
      return false
    }
  }

  return {
    claims,
    grants: (request) => {
      const header = request.headers['x-auth-token']
      return claims(typeof header === 'string' ? header : undefined)
    },
    reachable,
    stats: () => ({ entries: valid.size, negativeEntries: refused.size, ...counts }),
    clear: () => {
      valid.clear()
      refused.clear()
    }
  }
}

/** Everything wrong with the options (any value, e.g. read from a configuration file), as `at: message` lines. */
export function keystoneOptionProblems (options: unknown, at = ''): string[] {
  const problems: string[] = []
  const o: Record<string, unknown> = isRecord(options) ? options : {}
  for (const key of ['url', 'publicUrl'] as const) {
    const value = o[key]
    if (value === undefined && key === 'publicUrl') continue
    if (typeof value !== 'string' || !/^https?:\/\/[^\s/?#"]+(\/[^\s?#"]*)?$/.test(value)) {
      problems.push(`${at}${key}: should be an http(s) URL without query or quotes, instead got ${JSON.stringify(value)}`)
    }
  }
  const numbers: ReadonlyArray<[string, number, number]> = [['cacheSeconds', 0, 86_400], ['negativeCacheSeconds', 0, 3600],
    ['timeoutMs', 1, 120_000], ['maxEntries', 1, 10_000_000]]
  for (const [key, min, maxValue] of numbers) {
    const value = o[key]
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > maxValue)) {
      problems.push(`${at}${key}: should be an integer from ${min} to ${maxValue}, instead got ${JSON.stringify(value)}`)
    }
  }
  const credentials = o['credentials']
  if (typeof credentials !== 'object' || credentials === null) {
    problems.push(`${at}credentials: should be { username, password, projectName, ... } or ` +
      '{ applicationCredentialId, applicationCredentialSecret }')
  } else {
    // An array is an object without any of the names: each is reported missing.
    const c: Record<string, unknown> = isRecord(credentials) ? credentials : {}
    const names = 'applicationCredentialId' in c
      ? ['applicationCredentialId', 'applicationCredentialSecret']
      : ['username', 'password', 'projectName']
    for (const name of [...names, 'userDomainName', 'projectDomainName']) {
      const value = c[name]
      if (value === undefined && !names.includes(name)) continue
      // Never echo a credential: say only what is wrong.
      if (typeof value !== 'string' || value === '') problems.push(`${at}${name}: should be a non-empty string`)
    }
  }
  return problems
}

/** The options a configuration file can give: no functions, so keystoneOptionProblems checks every field. */
export type KeystoneFileOptions = Omit<KeystoneIdentityOptions, 'onEvent' | 'log' | 'now'>

/** True when keystoneOptionProblems finds nothing wrong, which makes every field it checks of its type. */
export function isKeystoneFileOptions (value: unknown): value is KeystoneFileOptions {
  return keystoneOptionProblems(value).length === 0
}

// -------------------------------------------------------------------------------------------------
// Reading the token document

type Read =
  | { readonly kind: 'ok', readonly claims: KeystoneClaims, readonly expiresAt: number }
  | { readonly kind: 'expired' }
  | { readonly kind: 'not-project-scoped', readonly scope: string, readonly expiresAt: number }
  | { readonly kind: 'unreadable', readonly detail: string }

type Json = Record<string, unknown>

const objectAt = (value: unknown, key: string): Json | undefined => {
  const child = ownValue(value, key)
  return isRecord(child) ? child : undefined
}
const stringAt = (value: Json | undefined, key: string): string | undefined => {
  const child = value !== undefined && Object.hasOwn(value, key) ? value[key] : undefined
  return typeof child === 'string' && child !== '' ? child : undefined
}
const nameAndId = (value: Json | undefined): NameAndId | undefined =>
  value === undefined ? undefined : Object.freeze({ id: stringAt(value, 'id'), name: stringAt(value, 'name') })

/** The parts of a validation body the gate uses, frozen; the scope decides whether it is usable. */
export function readTokenDocument (body: unknown, nowMs: number): Read {
  const token = objectAt(body, 'token')
  if (token === undefined) return { kind: 'unreadable', detail: 'no token object' }
  const expires = stringAt(token, 'expires_at')
  const expiresAt = expires === undefined ? NaN : Date.parse(expires)
  if (expires === undefined || !Number.isFinite(expiresAt)) return { kind: 'unreadable', detail: 'no readable expires_at' }
  if (expiresAt <= nowMs) return { kind: 'expired' }
  const project = objectAt(token, 'project')
  const projectId = stringAt(project, 'id')
  if (project === undefined || projectId === undefined) {
    const scope = objectAt(token, 'system') !== undefined
      ? 'system scope'
      : objectAt(token, 'domain') !== undefined ? 'domain scope' : 'unscoped'
    return { kind: 'not-project-scoped', scope, expiresAt }
  }
  const roles = Object.hasOwn(token, 'roles') ? token['roles'] : undefined
  if (!Array.isArray(roles)) return { kind: 'unreadable', detail: 'a project-scoped token without a roles list' }
  const names: Array<{ readonly name: string }> = []
  for (const role of roles) {
    const name = stringAt(isRecord(role) ? role : undefined, 'name')
    if (name === undefined) return { kind: 'unreadable', detail: 'a role without a name' }
    names.push(Object.freeze({ name }))
  }
  const user = objectAt(token, 'user')
  const claims: KeystoneClaims = Object.freeze({
    token: Object.freeze({
      project: Object.freeze({ id: projectId, name: stringAt(project, 'name'), domain: nameAndId(objectAt(project, 'domain')) }),
      user: Object.freeze({ id: stringAt(user, 'id'), name: stringAt(user, 'name'), domain: nameAndId(objectAt(user, 'domain')) }),
      roles: Object.freeze(names),
      expires_at: expires
    })
  })
  return { kind: 'ok', claims, expiresAt }
}

// -------------------------------------------------------------------------------------------------
// Talking to Keystone

interface KeystoneResponse { readonly status: number, readonly body: unknown, readonly subjectToken: string | null }

/**
 * One request with a deadline, the JSON body read up to a limit. A reset on a reused connection (some
 * WSGI servers close keep-alive sockets without saying so) is retried once, within the same deadline.
 */
async function keystoneRequest (url: string, init: { method: string, headers: Record<string, string>, body?: string },
  timeoutMs: number): Promise<KeystoneResponse> {
  const signal = AbortSignal.timeout(timeoutMs)
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, { ...init, signal, redirect: 'manual' })
      const body = await readJson(response)
      return { status: response.status, body, subjectToken: response.headers.get('x-subject-token') }
    } catch (error) {
      if (attempt > 0 || signal.aborted || !isConnectionReset(error)) throw error
    }
  }
}

async function readJson (response: Response): Promise<unknown> {
  if (response.body === null) return undefined
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of response.body) {
    length += chunk.length
    if (length > MAX_BODY_BYTES) {
      await response.body.cancel().catch(() => undefined)
      throw new Error(`the answer exceeds ${MAX_BODY_BYTES} bytes`)
    }
    chunks.push(chunk)
  }
  if (length === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return undefined
  }
}

/** The `code` of an error's `cause` (where fetch puts the socket's error), or undefined. */
function causeCode (error: unknown): unknown {
  const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : undefined
  return typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined
}

function isConnectionReset (error: unknown): boolean {
  const code = causeCode(error)
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
}

function messageOf (error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out'
  const code = causeCode(error)
  if (typeof code === 'string') return code
  return error instanceof Error ? error.message : String(error)
}

interface ServiceTokenSource {
  get (): Promise<string>
  invalidate (token: string): void
}

/** The gateway's own token: issued on first use, renewed before it expires, one request at a time. */
function serviceTokenSource (base: string, credentials: KeystoneCredentials, timeoutMs: number, now: () => number): ServiceTokenSource {
  let current: { token: string, renewAt: number } | undefined
  let pending: Promise<string> | undefined
  const identity = 'applicationCredentialId' in credentials
    ? {
        methods: ['application_credential'],
        application_credential: { id: credentials.applicationCredentialId, secret: credentials.applicationCredentialSecret }
      }
    : {
        methods: ['password'],
        password: {
          user: { name: credentials.username, domain: { name: credentials.userDomainName ?? 'Default' }, password: credentials.password }
        }
      }
  const scope = 'applicationCredentialId' in credentials
    ? undefined
    : { project: { name: credentials.projectName, domain: { name: credentials.projectDomainName ?? 'Default' } } }
  const body = JSON.stringify({ auth: scope === undefined ? { identity } : { identity, scope } })

  async function issue (): Promise<string> {
    const response = await keystoneRequest(`${base}/v3/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body
    }, timeoutMs)
    if (response.status !== 201 || response.subjectToken === null) {
      throw new Error(`Keystone answered ${response.status} to the gateway's authentication`)
    }
    const expires = Date.parse(stringAt(objectAt(response.body, 'token'), 'expires_at') ?? '')
    const issued = now()
    if (!Number.isFinite(expires) || expires <= issued) throw new Error('the service token has no future expires_at')
    // Renew when a quarter of the lifetime (at most 5 minutes) is left.
    current = { token: response.subjectToken, renewAt: expires - Math.min(300_000, (expires - issued) / 4) }
    return response.subjectToken
  }

  return {
    get () {
      if (current !== undefined && now() < current.renewAt) return Promise.resolve(current.token)
      pending ??= issue().finally(() => { pending = undefined })
      return pending
    },
    invalidate (token) {
      if (current?.token === token) current = undefined
    }
  }
}
