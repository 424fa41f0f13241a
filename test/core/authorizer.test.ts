import t from 'tap'
import { createAuthorizer } from '../../src/core/authorizer.js'
import type { Decision } from '../../src/core/decision/decision.js'
import { decisionLogFields, decisionLogLevel } from '../../src/core/decision/decision-log.js'
import { denialResponse } from '../../src/core/decision/responses.js'
import { snapshotRoutes } from '../../src/routes/snapshots.js'

const P = '0123456789abcdef0123456789abcdef'
const OTHER = 'fedcba9876543210fedcba9876543210'
const SNAP = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'
const authorizer = createAuthorizer()

function decide (method: string, url: string, claims: unknown, headers: Record<string, string> = {}): Decision | undefined {
  return authorizer.authorize({ method, url, headers }, claims)
}

// [what, method, url, claims, expected reason]
const precedence: Array<[string, string, string, unknown, string]> = [
  ['a malformed path is refused before the token is read', 'GET', `/v2/${P}/snapshots//x`, undefined, 'malformed-path'],
  ['a method override is refused before the token is read', 'POST', `/v2/${P}/snapshots`, undefined, 'method-override'],
  ['no token is 401 even on an unknown route', 'GET', `/v2/${P}/nothing-here`, undefined, 'no-credentials'],
  ['an unknown route is denied', 'GET', `/v2/${P}/nothing-here`, { project_id: P, actions: ['*'] }, 'route-not-found'],
  ['a known path with an unknown method is denied', 'PATCH', `/v2/${P}/snapshots`, { project_id: P, actions: ['*'] }, 'method-not-allowed'],
  ['another project is denied before actions are checked', 'GET', `/v2/${P}/snapshots`, { project_id: OTHER, actions: ['*'] },
    'project-mismatch'],
  ['a token without a project is denied', 'GET', `/v2/${P}/snapshots`, { actions: ['*'] }, 'project-mismatch'],
  ['a project id outside the pattern matches no route', 'GET', '/v2/ABCDEF/snapshots', { project_id: 'ABCDEF', actions: ['*'] },
    'route-not-found'],
  ['missing actions are denied', 'DELETE', `/v2/${P}/snapshots/${SNAP}`, { project_id: P, actions: ['evs:snapshots:delete'] },
    'missing-action'],
  ['explicit deny wins over missing', 'DELETE', `/v2/${P}/snapshots/${SNAP}`,
    {
      project_id: P,
      actions: ['evs:snapshots:delete'],
      policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:volumes:get'] }] }]
    }, 'explicit-deny'],
  ['all actions allowed is granted', 'DELETE', `/v2/${P}/snapshots/${SNAP}`,
    { project_id: P, actions: ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'] }, 'granted']
]

for (const [what, method, url, claims, reason] of precedence) {
  t.test(what, async (t) => {
    const headers: Record<string, string> = what.includes('override') ? { 'x-http-method-override': 'DELETE' } : {}
    t.equal(decide(method, url, claims, headers)?.reason, reason)
  })
}

t.test('a denial names the first missing action and lists all missing ones in table order', async (t) => {
  const decision = decide('DELETE', `/v2/${P}/snapshots/${SNAP}`, { project_id: P, actions: ['evs:snapshots:get'] })
  t.equal(decision?.kind, 'deny')
  if (decision === undefined || decision.kind === 'allow') return
  t.same(decision.missing, ['evs:snapshots:delete', 'evs:volumes:get'])
  t.equal(decision.action, 'evs:snapshots:delete')
  t.same(decision.required, ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'])
  t.equal(decision.projectId, P)
  t.equal(decision.params['snapshot_id'], SNAP)
})

t.test('an explicit deny is the action the denial names', async (t) => {
  const decision = decide('DELETE', `/v2/${P}/snapshots/${SNAP}`, {
    project_id: P,
    actions: ['evs:snapshots:delete'],
    policies: [{ Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['evs:volumes:get'] }] }]
  })
  t.equal(decision?.kind === 'deny' && decision.action, 'evs:volumes:get')
})

t.test('compiled grants are cached per claims object and stay correct', async (t) => {
  const claims = { project_id: P, actions: ['evs:snapshots:get'] }
  t.equal(decide('GET', `/v2/${P}/snapshots/${SNAP}`, claims)?.kind, 'allow')
  t.equal(decide('GET', `/v2/${P}/snapshots/${SNAP}`, claims)?.kind, 'allow')
  t.equal(decide('DELETE', `/v2/${P}/snapshots/${SNAP}`, claims)?.kind, 'deny')
})

t.test('fail() is a fail-closed 500 that does not echo the error', async (t) => {
  const inspection = authorizer.inspect({ method: 'GET', url: `/v2/${P}/snapshots` })
  t.equal(inspection.kind, 'pending')
  if (inspection.kind !== 'pending') return
  const decision = authorizer.fail(inspection, new TypeError('SECRET-IN-ERROR'))
  t.equal(decision.kind, 'deny')
  t.equal(decision.status, 500)
  t.equal(decision.reason, 'grants-error')
  t.notMatch(JSON.stringify(decision), /SECRET-IN-ERROR/)
})

const badOptions: Array<[string, Record<string, unknown>, string, RegExp]> = [
  ['prefix with a trailing slash', { prefix: '/evs/' }, 'EVS_AUTHZ_ERR_OPTIONS', /prefix: should be ''/],
  ['prefix with dots', { prefix: '/evs/..' }, 'EVS_AUTHZ_ERR_OPTIONS', /prefix/],
  ['unmatched value', { unmatched: 'maybe' }, 'EVS_AUTHZ_ERR_OPTIONS', /unmatched: should be 'deny' or 'pass'/],
  ['projectIdPattern not a RegExp', { projectIdPattern: '[0-9]+' }, 'EVS_AUTHZ_ERR_OPTIONS', /projectIdPattern: should be a RegExp/],
  ['now not a function', { now: 5 }, 'EVS_AUTHZ_ERR_OPTIONS', /now: should be a function/],
  ['bad routes', { routes: [{ method: 'GET' }] }, 'EVS_AUTHZ_ERR_ROUTE_TABLE', /routes\[0\]\.template/],
  ['bad policies', { policies: { Mine: { Version: '2', Statement: [] } } }, 'EVS_AUTHZ_ERR_POLICY', /Version/]
]

for (const [what, options, code, message] of badOptions) {
  t.test(`refuses ${what} at start-up`, async (t) => {
    t.throws(() => createAuthorizer(options as never), { code, message })
  })
}

t.test('several bad options are reported together', async (t) => {
  const error = t.throws(() => createAuthorizer({ prefix: 'x', unmatched: 'x' } as never)) as unknown as { problems: Array<{ at: string }> }
  t.same(error.problems.map((p) => p.at), ['prefix', 'unmatched'])
})

t.test('a custom table extends the built-in one', async (t) => {
  const custom = createAuthorizer({
    routes: [...snapshotRoutes,
      {
        method: 'GET',
        template: '/v2/{project_id}/os-quota-sets/{target_project_id}',
        actions: ['evs:quotas:get'],
        enterpriseProject: false,
        family: 'cinder',
        name: 'Show quotas'
      }]
  })
  const claims = { project_id: P, actions: ['evs:quotas:get'] }
  t.equal(custom.authorize({ method: 'GET', url: `/v2/${P}/os-quota-sets/${P}` }, claims)?.reason, 'granted')
  t.equal(custom.authorize({ method: 'GET', url: `/v2/${P}/snapshots` }, claims)?.reason, 'missing-action')
})

// [status, family, expected body]
const bodies: Array<[string, string, unknown, Record<string, unknown>, number, unknown]> = [
  ['cinder 403', 'DELETE', `/v2/${P}/snapshots/${SNAP}`, { project_id: P, actions: [] }, 403,
    { forbidden: { code: 403, message: 'Policy doesn\'t allow evs:snapshots:delete to be performed.' } }],
  ['evs 403', 'POST', `/v2/${P}/cloudsnapshots`, { project_id: P }, 403,
    { error: { code: 'EVS.5403', message: 'Policy doesn\'t allow evs:snapshots:create to be performed.' } }],
  ['cinder 401', 'GET', `/v2/${P}/snapshots`, undefined as never, 401,
    { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }],
  ['evs 401', 'GET', `/v2/${P}/cloudsnapshots/detail`, undefined as never, 401,
    { error: { code: 'EVS.5401', message: 'Authentication required.' } }],
  ['cinder 400', 'GET', `/v2/${P}/snapshots/a%2Fb`, undefined as never, 400,
    { badRequest: { code: 400, message: 'Malformed request url' } }],
  ['evs 400', 'GET', `/v2/${P}/cloudsnapshots/a%5Cb`, undefined as never, 400,
    { error: { code: 'EVS.5400', message: 'Malformed request url' } }],
  ['project mismatch', 'GET', `/v2/${P}/snapshots`, { project_id: OTHER, actions: ['*'] }, 403,
    { forbidden: { code: 403, message: 'Project ID in the URI is different from the project ID in the token.' } }],
  ['unknown route', 'GET', `/v2/${P}/backups`, { project_id: P, actions: ['*'] }, 403,
    { forbidden: { code: 403, message: 'Policy doesn\'t allow this request to be performed.' } }]
]

for (const [what, method, url, claims, status, body] of bodies) {
  t.test(`answer body: ${what}`, async (t) => {
    const decision = decide(method, url as string, claims)
    t.equal(decision?.kind, 'deny')
    if (decision === undefined || decision.kind === 'allow') return
    const response = denialResponse(decision)
    t.equal(response.status, status)
    t.same(response.body, body)
    t.equal(response.headers['www-authenticate'], status === 401 ? 'Keystone' : undefined)
  })
}

t.test('a grants error answers 500 in the family envelope', async (t) => {
  for (const [url, key] of [[`/v2/${P}/snapshots`, 'computeFault'], [`/v2/${P}/cloudsnapshots/detail`, 'error']] as const) {
    const inspection = authorizer.inspect({ method: 'GET', url })
    if (inspection.kind !== 'pending') {
      t.fail('expected a pending inspection')
      continue
    }
    const response = denialResponse(authorizer.fail(inspection, new Error('x')))
    t.equal(response.status, 500)
    t.ok(key in response.body)
  }
})

t.test('decision log fields carry ids and actions, at the documented levels', async (t) => {
  const allowDecision = decide('GET', `/v2/${P}/snapshots/${SNAP}?secret=abc`,
    { project_id: P, sub: 'u-1', actions: ['evs:snapshots:get'], password: 'hunter2' })
  const denyDecision = decide('DELETE', `/v2/${P}/snapshots/${SNAP}`, { project_id: P, sub: 'u-1', actions: ['evs:snapshots:get'] })
  if (allowDecision === undefined || denyDecision === undefined) {
    t.fail('expected decisions')
    return
  }
  const fields = decisionLogFields(denyDecision, 'audit', 'req-7')
  t.same(fields, {
    decision: 'deny',
    reason: 'missing-action',
    mode: 'audit',
    status: 403,
    method: 'DELETE',
    path: `/v2/${P}/snapshots/${SNAP}`,
    route: 'Delete a snapshot (OpenStack Cinder)',
    template: '/v2/{project_id}/snapshots/{snapshot_id}',
    requiredActions: ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'],
    missingActions: ['evs:snapshots:delete', 'evs:volumes:get'],
    projectId: P,
    userId: 'u-1',
    requestId: 'req-7',
    detail: undefined,
    enterpriseProjects: undefined
  })
  const allowFields = JSON.stringify(decisionLogFields(allowDecision, 'enforce', 'r'))
  t.notMatch(allowFields, /hunter2|secret=abc/, 'neither claims nor the query string are logged')
  t.equal(decisionLogLevel(allowDecision), 'debug')
  t.equal(decisionLogLevel(denyDecision), 'info')
})

t.test('a custom table\'s own version segments are guarded too: its rows can never be bypassed', async (t) => {
  const v5 = createAuthorizer({
    routes: [...snapshotRoutes,
      {
        method: 'DELETE',
        template: '/v5/{project_id}/snapshots/{snapshot_id}',
        actions: ['evs:snapshots:delete'],
        enterpriseProject: false,
        family: 'evs',
        name: 'Delete a snapshot (v5)'
      }]
  })
  const reader = { project_id: P, roles: ['readonly'] }
  t.equal(v5.authorize({ method: 'DELETE', url: `/v5/${P}/snapshots/${SNAP}` }, reader).reason, 'missing-action')
  t.equal(v5.authorize({ method: 'DELETE', url: `/V5/${P}/snapshots/${SNAP}` }, reader).reason, 'route-not-found')
  t.equal(v5.authorize({ method: 'DELETE', url: `/v5/${P}/snapshots/${SNAP}/` }, reader).reason, 'malformed-path')
  t.equal(v5.authorize({ method: 'DELETE', url: `/x/../v5/${P}/snapshots/${SNAP}` }, reader).reason, 'malformed-path')
  t.equal(v5.authorize({ method: 'DELETE', url: `/%765/${P}/snapshots/${SNAP}` }, reader).reason, 'malformed-path')
  t.equal(v5.authorize({ method: 'GET', url: '/v6/anything' }, reader).reason, 'not-guarded')
  t.equal(createAuthorizer().authorize({ method: 'DELETE', url: `/v5/${P}/snapshots/${SNAP}` }, reader).reason, 'not-guarded',
    'the built-in table guards v2 and v3 only')
  t.throws(() =>
    createAuthorizer({
      routes: [{
        method: 'GET',
        template: '/{project_id}/x',
        actions: ['evs:x:get'],
        enterpriseProject: false,
        family: 'cinder',
        name: 'x'
      }]
    }), { code: 'EVS_AUTHZ_ERR_ROUTE_TABLE', message: /must start with a static segment/ })
})

t.test('a path segment its parameter rejects is no route, whatever sibling label it resembles (fast and slow path agree)', async (t) => {
  const row = (template: string): (typeof snapshotRoutes)[number] =>
    ({ method: 'GET', template, actions: ['evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: template })
  const routes = [row('/v3/{project_id}/x'), row('/v3/info')]
  const claims = { project_id: '0123456789abcdef0123456789abcdef', actions: ['evs:snapshots:get'] }
  // `Info` fails {project_id}'s lower-case pattern: with unmatched 'pass' it is let through like any other path without
  // a row (it names no snapshot collection), with 'deny' it is route-not-found; never a 400 for an ambiguous segment.
  for (const [unmatched, kind, reason] of [['pass', 'allow', 'unmatched-pass'], ['deny', 'deny', 'route-not-found']] as const) {
    const authorizer = createAuthorizer({ routes, unmatched })
    for (const url of ['/v3/Info', '/v3/INFO', '/v3/infO']) {
      const decision = authorizer.authorize({ method: 'GET', url }, claims)
      t.equal(decision.kind, kind, `${unmatched}: ${url}`)
      t.equal(decision.reason, reason, `${unmatched}: ${url}`)
    }
    t.equal(authorizer.authorize({ method: 'GET', url: '/v3/info' }, claims).reason, 'granted', `${unmatched}: the label itself`)
  }
})
