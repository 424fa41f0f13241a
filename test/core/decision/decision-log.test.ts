// The decision log line: the same fields for every kind of decision, levels by outcome (allows at debug,
// denials at info, 500s at error) whatever the mode, never token material, and the constant message the
// adapters write. Decisions come from createAuthorizer().authorize(), as a user gets them.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { DECISION_MESSAGE, decisionLogFields, decisionLogLevel, type Mode } from '../../../src/core/decision/decision-log.js'
import { createAuthorizer, type RequestTarget } from '../../../src/core/authorizer.js'
import { buildApp, nextRequestId } from '../../fixtures/app.js'

const P = '0123456789abcdef0123456789abcdef'
const OTHER = 'ffffffffffffffffffffffffffffffff'
const SNAP = '3b1f7a52-9c4e-4d2b-8f6a-0c1d2e3f4a5b'
const USER = 'u-42'
const MODES: readonly Mode[] = ['enforce', 'audit']

const authorizer = createAuthorizer({ unmatched: 'pass', crossProjectQuery: 'deny' })
const strict = createAuthorizer()

const grant = (...actions: string[]): unknown => ({ project_id: P, sub: USER, actions })
const epGrant = (id: string, ...actions: string[]): unknown => ({ project_id: P, sub: USER, enterprise_projects: [{ id, actions }] })
const ALLOW_ALL_BUT_GET = [{ Effect: 'Allow', Action: ['*'] }, { Effect: 'Deny', Action: ['evs:*:get'] }]
const throwingClaims = { project_id: P, get actions (): never { throw new Error('claims getter') } }

// [case, request, claims, expected reason, expected status (undefined: allowed), route name expected in the line]
type Case = [string, RequestTarget, unknown, string, number | undefined, string | undefined]
const cases: Case[] = [
  ['granted', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}` }, grant('evs:snapshots:get'), 'granted', undefined,
    'Query snapshot details (OpenStack Cinder)'],
  ['unmatched, passed', { method: 'GET', url: `/v2/${P}/volumes` }, grant(), 'unmatched-pass', undefined, undefined],
  ['malformed path', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}/` }, grant('evs:snapshots:get'), 'malformed-path', 400, undefined],
  ['method override', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}`, headers: { 'x-http-method-override': 'DELETE' } },
    grant('evs:snapshots:get'), 'method-override', 400, undefined],
  ['no credentials', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}` }, undefined, 'no-credentials', 401,
    'Query snapshot details (OpenStack Cinder)'],
  ['invalid grants', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}` }, { project_id: P, actions: 'evs:*:*' }, 'invalid-grants', 403,
    'Query snapshot details (OpenStack Cinder)'],
  ['grants error', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}` }, throwingClaims, 'grants-error', 500,
    'Query snapshot details (OpenStack Cinder)'],
  ['route not found', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}/nothing` }, grant('evs:snapshots:get'), 'route-not-found', 403,
    undefined],
  ['method not allowed', { method: 'PATCH', url: `/v2/${P}/snapshots/${SNAP}` }, grant('evs:snapshots:get'), 'method-not-allowed', 403,
    undefined],
  ['project mismatch', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}` }, { project_id: OTHER, actions: ['evs:snapshots:get'] },
    'project-mismatch', 403, 'Query snapshot details (OpenStack Cinder)'],
  ['explicit deny', { method: 'GET', url: `/v2/${P}/snapshots/${SNAP}` },
    { project_id: P, policies: [{ Version: '1.1', Statement: ALLOW_ALL_BUT_GET }] },
    'explicit-deny', 403, 'Query snapshot details (OpenStack Cinder)'],
  ['missing action', { method: 'DELETE', url: `/v2/${P}/snapshots/${SNAP}` }, grant('evs:snapshots:get'), 'missing-action', 403,
    'Delete a snapshot (OpenStack Cinder)'],
  ['cross-project query', { method: 'GET', url: `/v2/${P}/snapshots?all_tenants=1` }, grant('evs:snapshots:list'), 'cross-project-query',
    403, 'List snapshots (OpenStack Cinder)'],
  ['malformed query', { method: 'GET', url: `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=a&enterprise_project_id=b` },
    epGrant('a', 'evs:snapshots:list'), 'malformed-query', 400, 'List snapshots with details'],
  ['malformed body', { method: 'POST', url: `/v2/${P}/cloudsnapshots` }, epGrant('a', 'evs:snapshots:create'), 'malformed-body', 400,
    'Create a snapshot'],
  ['EP grants on a Cinder row', { method: 'GET', url: `/v2/${P}/snapshots` }, epGrant('a', 'evs:snapshots:list'),
    'enterprise-project-unsupported', 403, 'List snapshots (OpenStack Cinder)'],
  ['EP required', { method: 'GET', url: `/v2/${P}/cloudsnapshots/detail` }, epGrant('a', 'evs:snapshots:list'),
    'enterprise-project-required', 403, 'List snapshots with details'],
  ['EP unresolved', { method: 'GET', url: `/v2/${P}/cloudsnapshots/${SNAP}` }, epGrant('a', 'evs:snapshots:get'),
    'enterprise-project-unresolved', 403, 'Query snapshot details'],
  ['EP granted from the query', { method: 'GET', url: `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=a` },
    epGrant('a', 'evs:snapshots:list'), 'granted', undefined, 'List snapshots with details']
]

t.test('every kind of decision logs the same fields, filled from that decision', async (t) => {
  const keySets = new Set<string>()
  for (const [name, request, claims, reason, status, route] of cases) {
    const decision = authorizer.authorize(request, claims)
    t.equal(decision.reason, reason, `${name}: the case produces its reason`)
    for (const mode of MODES) {
      const fields = decisionLogFields(decision, mode, `req-${name}`)
      keySets.add(Object.keys(fields).join(','))
      t.equal(fields.decision, status === undefined ? 'allow' : 'deny', `${name}: decision`)
      t.equal(fields.reason, reason, `${name}: reason`)
      t.equal(fields.mode, mode, `${name}: mode`)
      t.equal(fields.status, status, `${name}: status only on denials`)
      t.equal(fields.method, request.method, `${name}: method`)
      t.equal(fields.path, request.url.split('?')[0], `${name}: the path without its query`)
      t.equal(fields.route, route, `${name}: route name`)
      t.equal(fields.template === undefined, route === undefined, `${name}: a template exactly when a route matched`)
      t.equal(fields.requestId, `req-${name}`, `${name}: request id`)
      t.equal(fields.projectId, route === undefined ? undefined : P, `${name}: the path's project, once a route matched`)
      t.same(fields.requiredActions, decision.required, `${name}: required actions`)
      t.ok(fields.missingActions.every((action) => fields.requiredActions.includes(action)), `${name}: missing ⊆ required`)
      if (status === undefined) t.same(fields.missingActions, [], `${name}: an allow misses nothing`)
    }
  }
  t.equal(keySets.size, 1, 'one schema for every decision and mode')
})

t.test('the line names what a route requires and what the grant lacks, in table order', async (t) => {
  const decision = strict.authorize({ method: 'DELETE', url: `/v2/${P}/snapshots/${SNAP}` }, grant('evs:snapshots:get'))
  const fields = decisionLogFields(decision, 'enforce', undefined)
  t.same(fields.requiredActions, ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'])
  t.same(fields.missingActions, ['evs:snapshots:delete', 'evs:volumes:get'])
  t.equal(fields.template, '/v2/{project_id}/snapshots/{snapshot_id}')
  t.equal(fields.userId, USER)
  t.equal(fields.requestId, undefined, 'no request id is invented')
})

t.test('enterprise projects appear only on EP-scoped decisions, with how each was learnt', async (t) => {
  const ep = authorizer.authorize({ method: 'GET', url: `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=ep-1` },
    epGrant('ep-1', 'evs:snapshots:list'))
  t.same(decisionLogFields(ep, 'enforce', 'r').enterpriseProjects, [{ id: 'ep-1', source: 'query', from: 'query' }])
  const projectWide = authorizer.authorize({ method: 'GET', url: `/v2/${P}/cloudsnapshots/detail?enterprise_project_id=ep-1` },
    grant('evs:snapshots:list'))
  t.equal(projectWide.reason, 'granted')
  t.equal(decisionLogFields(projectWide, 'enforce', 'r').enterpriseProjects, undefined, 'a project-wide grant logs no EP')
})

t.test('levels: allows at debug, denials at info, failures (500) at error, in either mode', async (t) => {
  for (const [name, request, claims, , status] of cases) {
    const decision = authorizer.authorize(request, claims)
    const expected = status === undefined ? 'debug' : status === 500 ? 'error' : 'info'
    t.equal(decisionLogLevel(decision), expected, name)
  }
})

t.test('property: enforce and audit lines differ in the mode field only', async (t) => {
  const requestIds = fc.option(fc.string({ maxLength: 20 }), { nil: undefined })
  fc.assert(fc.property(fc.constantFrom(...cases), requestIds, ([, request, claims], id) => {
    const decision = authorizer.authorize(request, claims)
    const { mode: enforce, ...enforced } = decisionLogFields(decision, 'enforce', id)
    const { mode: audit, ...audited } = decisionLogFields(decision, 'audit', id)
    return enforce === 'enforce' && audit === 'audit' && JSON.stringify(enforced) === JSON.stringify(audited)
  }), { numRuns: 100 })
  t.pass('held')
})

// A secret that cannot occur in ids, paths or action names by accident.
const secretArb = fc.stringMatching(/^[A-Za-z0-9_-]{16,40}$/).map((s) => `SECRET${s}`)

t.test('property: no token material reaches the line, wherever the request or claims carry it', async (t) => {
  fc.assert(fc.property(fc.constantFrom(...cases), secretArb, ([, request, claims], secret) => {
    const withSecrets: RequestTarget = {
      method: request.method,
      url: `${request.url}${request.url.includes('?') ? '&' : '?'}token=${secret}&password=${secret}`,
      headers: { ...request.headers, 'x-auth-token': secret, authorization: `Bearer ${secret}`, cookie: `session=${secret}` }
    }
    const richClaims = typeof claims === 'object' && claims !== null && !Object.hasOwn(claims, 'actions')
      ? { ...claims, password: secret, token: { id: secret }, jti: secret, access_token: secret }
      : claims
    const decision = authorizer.authorize(withSecrets, richClaims)
    return MODES.every((mode) => !JSON.stringify(decisionLogFields(decision, mode, 'req')).includes(secret))
  }), { numRuns: 200 })
  t.pass('held')
})

t.test('an adapter line tells a sent but refused token from none, without its value', async (t) => {
  const { app, decisionLines } = buildApp()
  t.teardown(async () => { await app.close() })
  const url = `/v2/${P}/snapshots/${SNAP}`
  const secret = 'SECRET-x-auth-token-value-1234567890'
  const detailOf = async (headers: Record<string, string>): Promise<unknown> => {
    const id = nextRequestId()
    await app.inject({ method: 'GET', url, headers: { 'x-request-id': id, ...headers } })
    const [line] = decisionLines(id)
    t.equal(line?.reason, 'no-credentials')
    t.notMatch(JSON.stringify(line), secret, 'the token value is not logged')
    return line?.detail
  }
  const sentAuthToken = await detailOf({ 'x-auth-token': secret })
  const sentBearer = await detailOf({ authorization: `Bearer ${secret}` })
  const none = await detailOf({})
  t.match(sentAuthToken, /X-Auth-Token/)
  t.not(sentAuthToken, none, 'a refused token and a missing one read differently')
  t.not(sentBearer, none)
})

t.test('the message constant is the documented one, and the adapters write it on every decision line', async (t) => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  t.ok(readme.includes(`with the message \`${DECISION_MESSAGE}\``), 'README documents the message')
  const pinoLevel = { debug: 20, info: 30, error: 50 } as const
  for (const mode of MODES) {
    const { app, decisionLines } = buildApp({ mode, unmatched: 'pass', crossProjectQuery: 'deny' })
    await app.ready()
    for (const [name, request, claims] of cases.filter(([, r, c]) => r.headers === undefined && c !== throwingClaims)) {
      const id = nextRequestId()
      const headers: Record<string, string> = { 'x-request-id': id }
      if (claims !== undefined) headers['x-test-claims'] = JSON.stringify(claims)
      await app.inject({ method: request.method as 'GET', url: request.url, headers })
      const lines = decisionLines(id)
      t.equal(lines.length, 1, `${mode} ${name}: one decision line`)
      const expected = decisionLogFields(authorizer.authorize(request, claims), mode, id)
      t.equal(lines[0]?.msg, DECISION_MESSAGE, `${mode} ${name}: the message`)
      t.equal(lines[0]?.level, pinoLevel[decisionLogLevel(authorizer.authorize(request, claims))], `${mode} ${name}: the level`)
      t.match(lines[0], { decision: expected.decision, reason: expected.reason, mode }, `${mode} ${name}: the fields`)
    }
    await app.close()
  }
})
