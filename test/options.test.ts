// Options that catch mistakes: unknown names with a did-you-mean, a second registration, URLs Fastify's
// router refuses, and a logger that would drop the decision lines.
import t from 'tap'
import fc from 'fast-check'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import express from 'express'
import { inject } from 'light-my-request'
import { pino } from 'pino'
import evsAuthz, { ConfigurationError, createAuthorizer, evsAuthzFrameworkErrors, type EvsAuthzOptions } from 'evs-authz'
import evsAuthzExpress, { type EvsAuthzExpressOptions } from 'evs-authz/express'
import { closestName, editDistance } from '../src/core/support/did-you-mean.js'
import { OPTION_NAMES, type OptionName } from '../src/core/support/option-names.js'
import { SILENT_LOGGER_WARNING } from '../src/registration.js'

const P = '0123456789abcdef0123456789abcdef'
const quiet = { debug () {}, info () {}, error () {} }

// Compile-time: the list holds every option of the plugin, the middleware and the authorizer, and nothing
// else but Fastify's own register options. A new option missing from the list fails `npm run typecheck`.
type Known = keyof EvsAuthzOptions | keyof EvsAuthzExpressOptions
type Missing = Exclude<Known, OptionName>
type Extra = Exclude<OptionName, Known | 'logLevel' | 'logSerializers'>
const noneMissing: [Missing] extends [never] ? true : Missing = true
const noneExtra: [Extra] extends [never] ? true : Extra = true

function startupError (fn: () => unknown): ConfigurationError | undefined {
  try {
    fn()
  } catch (error) {
    return error as ConfigurationError
  }
  return undefined
}

t.test('edit distance: zero for equal names, symmetric, at most the longer length', async (t) => {
  t.ok(noneMissing && noneExtra)
  fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b) => {
    const d = editDistance(a, b)
    return editDistance(a, a) === 0 && d === editDistance(b, a) && d <= Math.max(a.length, b.length) && (d === 0) === (a === b)
  }))
  t.equal(editDistance('kitten', 'sitting'), 3)
})

// [typed, suggested]
const typos: ReadonlyArray<[string, string | undefined]> = [
  ['unmatchd', 'unmatched'], ['crossProjectQuey', 'crossProjectQuery'], ['bodylimit', 'bodyLimit'], ['Grants', 'grants'],
  ['prefx', 'prefix'], ['onDecison', 'onDecision'], ['resolverTimout', 'resolverTimeout'], ['polices', 'policies'],
  ['enterpriseProjectCach', 'enterpriseProjectCache'], ['logger2', 'logger'],
  ['colour', undefined], ['x', undefined], ['a'.repeat(100), undefined]
]

t.test('did-you-mean suggests the option a typo was meant to be, and nothing for unrelated names', async (t) => {
  for (const [typed, suggested] of typos) t.equal(closestName(typed, OPTION_NAMES), suggested, typed.slice(0, 20))
})

t.test('unknown option names are rejected by the plugin, the middleware and the authorizer, with the suggestion', async (t) => {
  for (const [typed, suggested] of typos) {
    const options = { [typed]: 'x' }
    const fastify = Fastify()
    fastify.register(evsAuthz, options as EvsAuthzOptions)
    const rejected = await fastify.ready().then(() => undefined, (error: unknown) => error as ConfigurationError)
    const middleware = startupError(() => evsAuthzExpress({ logger: quiet, ...options } as EvsAuthzExpressOptions))
    const authorizer = startupError(() => createAuthorizer(options as never))
    for (const [where, error] of [['plugin', rejected], ['middleware', middleware], ['authorizer', authorizer]] as const) {
      t.equal(error?.code, 'EVS_AUTHZ_ERR_OPTIONS', `${where}: ${typed.slice(0, 20)}`)
      t.same(error?.problems.map((p) => p.at), [JSON.stringify(typed)], `${where}: the unknown name is the problem`)
      t.match(error?.message ?? '', suggested === undefined ? /unknown option\n?$/ : `did you mean '${suggested}'?`)
    }
    await fastify.close()
  }
  const both = startupError(() => createAuthorizer({ unmatchd: 'pass', mode: 'x', prefix: 'bad/' } as never))
  t.same(both?.problems.map((p) => p.at), ['"unmatchd"', 'prefix'], 'unknown names and bad values in one error')
})

t.test('every known option name is accepted (no false alarms)', async (t) => {
  const everything = Object.fromEntries(OPTION_NAMES.map((name) => [name, undefined]))
  t.doesNotThrow(() => createAuthorizer(everything as never))
  t.doesNotThrow(() => evsAuthzExpress({ ...everything, logger: quiet } as EvsAuthzExpressOptions))
  const app = Fastify()
  await app.register(evsAuthz, { ...everything, logLevel: 'info' } as EvsAuthzOptions)
  await app.close()
})

t.test('a second registration rejects ready() with a coded error instead of crashing', async (t) => {
  const twice = Fastify()
  twice.register(evsAuthz)
  twice.register(evsAuthz)
  const error = await twice.ready().then(() => undefined, (e: unknown) => e as ConfigurationError)
  t.equal(error?.code, 'EVS_AUTHZ_ERR_REGISTERED')
  t.match(error?.message, /register it once/)
  const nested = Fastify()
  nested.register(evsAuthz)
  nested.register(async (child) => { await child.register(evsAuthz) })
  const nestedError = await nested.ready().then(() => undefined, (e: unknown) => e as ConfigurationError)
  t.equal(nestedError?.code, 'EVS_AUTHZ_ERR_REGISTERED', 'in a child scope too')
  const siblings = Fastify()
  siblings.register(async (a) => { await a.register(evsAuthz) })
  siblings.register(async (b) => { await b.register(evsAuthz) })
  await t.resolves(async () => { await siblings.ready() }, 'separate encapsulated scopes each have their own')
})

function captured (): { lines: Array<Record<string, unknown>>, stream: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      callback()
    }
  })
  return { lines, stream }
}

t.test('URLs the router refuses are answered in the family envelope, with a decision line (frameworkErrors)', async (t) => {
  const log = captured()
  const app = Fastify({ loggerInstance: pino(log.stream), frameworkErrors: evsAuthzFrameworkErrors({ prefix: '/evs' }) })
  await app.register(evsAuthz, { prefix: '/evs' })
  app.all('/*', async () => 'reached')
  const cases: ReadonlyArray<[string, number, unknown]> = [
    [`/evs/v2/${P}/snapshots/%c0%af`, 400, { badRequest: { code: 400, message: 'Malformed request url' } }],
    [`/evs/v2/${P}/cloudsnapshots/%c0%af`, 400, { error: { code: 'EVS.5400', message: 'Malformed request url' } }],
    [`/evs/v3/${P}/snapshots/%ff?x=1`, 400, { badRequest: { code: 400, message: 'Malformed request url' } }]
  ]
  for (const [url, status, body] of cases) {
    log.lines.length = 0
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, status, url)
    t.same(response.json(), body, url)
    t.ok(response.headers['x-openstack-request-id'], 'request id header')
    const decision = log.lines.find((line) => line['msg'] === 'evs-authz decision')
    const requestId = response.headers['x-openstack-request-id']
    t.match(decision, { decision: 'deny', reason: 'malformed-path', status: 400, requestId }, `${url}: decision line`)
    t.notMatch(String(decision?.['path']), /\?/, 'no query in the logged path')
  }
  const outside = await app.inject({ method: 'GET', url: '/other/%c0%af' })
  t.equal(outside.statusCode, 400)
  t.equal(outside.json<{ code: string }>().code, 'FST_ERR_BAD_URL', 'outside the guarded space Fastify answers as it does by default')
  await app.close()
})

t.test('a logger that drops decision lines is reported when the adapter is registered', async (t) => {
  const warnings: string[] = []
  const original = process.emitWarning
  const record = (message: string, options?: { code?: string }): void => {
    if (options?.code === SILENT_LOGGER_WARNING) warnings.push(message)
  }
  process.emitWarning = record as typeof process.emitWarning
  t.teardown(() => { process.emitWarning = original })
  const registered = async (app: ReturnType<typeof Fastify>): Promise<void> => {
    await app.register(evsAuthz)
    await app.close()
  }
  const cases: ReadonlyArray<[string, () => Promise<void>, boolean]> = [
    ['Fastify() (logger: false)', () => registered(Fastify()), true],
    ['Fastify({ logger: { level: "warn" } })', () => registered(Fastify({ logger: { level: 'warn' } })), true],
    ['a logger at info', () => registered(Fastify({ loggerInstance: pino({ level: 'info' }, captured().stream) })), false],
    ['a logger at debug', () => registered(Fastify({ loggerInstance: pino({ level: 'debug' }, captured().stream) })), false],
    ['Express, a silent pino', async () => { express().use(evsAuthzExpress({ logger: pino({ level: 'silent' }) })) }, true],
    ['Express, a logger without a level', async () => { express().use(evsAuthzExpress({ logger: quiet })) }, false]
  ]
  for (const [what, register, warns] of cases) {
    warnings.length = 0
    await register()
    t.equal(warnings.length, warns ? 1 : 0, what)
    if (warns) t.match(warnings[0], /decision lines .* are not written/, what)
  }
  const app = express().use(evsAuthzExpress({ logger: quiet }))
  t.equal((await inject(app, { method: 'GET', url: `/v2/${P}/snapshots` })).statusCode, 401, 'the middleware still works')
})
