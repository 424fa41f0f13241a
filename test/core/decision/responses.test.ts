// Every denial reason has its own client-facing message and status, in both envelopes.
import t from 'tap'
import { DENY_STATUS, denyDecision, type DenyReason } from '../../../src/core/decision/decision.js'
import { denialResponse } from '../../../src/core/decision/responses.js'

// [reason, status, message when the decision names evs:snapshots:delete]
const expected: Array<[DenyReason, number, string]> = [
  ['malformed-path', 400, 'Malformed request url'],
  ['method-override', 400, 'Method override is not allowed: remove the override and send the real method.'],
  ['malformed-body', 400, 'Malformed request body'],
  ['malformed-query', 400, 'Malformed request query'],
  ['no-credentials', 401, 'The request you have made requires authentication.'],
  ['invalid-grants', 403, 'Policy doesn\'t allow this request to be performed.'],
  ['grants-error', 500, 'The server has either erred or is incapable of performing the requested operation.'],
  ['route-not-found', 403, 'Policy doesn\'t allow this request to be performed.'],
  ['method-not-allowed', 403, 'Policy doesn\'t allow this request to be performed.'],
  ['project-mismatch', 403, 'Project ID in the URI is different from the project ID in the token.'],
  ['explicit-deny', 403, 'Policy doesn\'t allow evs:snapshots:delete to be performed.'],
  ['missing-action', 403, 'Policy doesn\'t allow evs:snapshots:delete to be performed.'],
  ['enterprise-project-unsupported', 403, 'Policy doesn\'t allow evs:snapshots:delete to be performed. ' +
    'Enterprise-project grants do not apply to OpenStack Cinder APIs: use the EVS cloudsnapshots API or a grant for the whole project.'],
  ['enterprise-project-required', 403, 'Policy doesn\'t allow this request to be performed without enterprise_project_id.'],
  ['enterprise-project-unresolved', 403, 'Policy doesn\'t allow evs:snapshots:delete to be performed.'],
  ['enterprise-project-error', 500, 'The server has either erred or is incapable of performing the requested operation.'],
  ['cross-project-query', 403, 'Policy doesn\'t allow all_tenants or all_projects to be used.']
]

t.test('the table covers every reason', async (t) => {
  t.same(expected.map(([reason]) => reason).sort(), Object.keys(DENY_STATUS).sort())
})

t.test('the method-override answer names what carried the override', async (t) => {
  for (const carrier of ['x-http-method-override header', '_method query parameter']) {
    const response = denialResponse(denyDecision('method-override', 'GET', '/v2/p/snapshots/s', 'cinder', { detail: carrier }))
    t.match(response.body, { badRequest: { message: `Method override is not allowed: remove the ${carrier} and send the real method.` } })
  }
})

const cinderKey: Record<number, string> = { 400: 'badRequest', 403: 'forbidden', 500: 'computeFault' }
const evsCode: Record<number, string> = { 400: 'EVS.5400', 401: 'EVS.5401', 403: 'EVS.5403', 500: 'EVS.5500' }

for (const [reason, status, message] of expected) {
  t.test(`${reason}: ${status}, "${message}"`, async (t) => {
    const cinder = denialResponse(denyDecision(reason, 'DELETE', '/v2/p/snapshots/s', 'cinder', { action: 'evs:snapshots:delete' }))
    const evs = denialResponse(denyDecision(reason, 'DELETE', '/v2/p/cloudsnapshots/s', 'evs', { action: 'evs:snapshots:delete' }))
    t.equal(cinder.status, status)
    t.equal(evs.status, status)
    if (status === 401) {
      t.same(cinder.body, { error: { code: 401, title: 'Unauthorized', message } })
      t.same(evs.body, { error: { code: 'EVS.5401', message: 'Authentication required.' } })
    } else {
      t.same(cinder.body, { [cinderKey[status] as string]: { code: status, message } })
      t.same(evs.body, { error: { code: evsCode[status], message } })
    }
  })
}
