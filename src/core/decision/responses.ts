// Error answers, shaped like the backend's own: OpenStack fault envelopes on Cinder routes,
// Huawei `{"error":{"code":"EVS.xxxx"}}` on EVS routes. Never echoes the token or the grants.
import type { DenyDecision } from './decision.js'

/** A denial rendered for HTTP. */
export interface DenialResponse {
  readonly status: number
  readonly body: Readonly<Record<string, unknown>>
  readonly headers: Readonly<Record<string, string>>
}

const OPENSTACK_FAULT = { 400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 500: 'computeFault' } as const
const CHALLENGE = Object.freeze({ 'www-authenticate': 'Keystone' })
const NO_HEADERS = Object.freeze({})
const EVS_CODE = { 400: 'EVS.5400', 401: 'EVS.5401', 403: 'EVS.5403', 500: 'EVS.5500' } as const

/** The message a client shows for a denial. */
export function denialMessage (decision: DenyDecision): string {
  switch (decision.reason) {
    case 'malformed-path':
      return 'Malformed request url'
    case 'method-override':
      // The detail names what carried the override (a header or the _method parameter); it is ours, never client text.
      return `Method override is not allowed: remove the ${decision.detail ?? 'override'} and send the real method.`
    case 'malformed-query':
      return 'Malformed request query'
    case 'malformed-body':
      return 'Malformed request body'
    case 'no-credentials':
      // EVS.5401's documented text on Huawei-native routes; keystonemiddleware's on Cinder routes.
      return decision.family === 'evs' ? 'Authentication required.' : 'The request you have made requires authentication.'
    case 'grants-error':
    case 'enterprise-project-error':
      return 'The server has either erred or is incapable of performing the requested operation.'
    case 'project-mismatch':
      return 'Project ID in the URI is different from the project ID in the token.'
    case 'cross-project-query':
      return 'Policy doesn\'t allow all_tenants or all_projects to be used.'
    case 'enterprise-project-required':
      return 'Policy doesn\'t allow this request to be performed without enterprise_project_id.'
    case 'invalid-grants':
    case 'route-not-found':
    case 'method-not-allowed':
      return 'Policy doesn\'t allow this request to be performed.'
    case 'enterprise-project-unsupported':
      // The caller's enterprise-project grants would allow: say why they do not count and what does.
      return `Policy doesn't allow ${decision.action ?? 'this request'} to be performed. Enterprise-project grants do not apply to ` +
        'OpenStack Cinder APIs: use the EVS cloudsnapshots API or a grant for the whole project.'
    case 'enterprise-project-unresolved':
    case 'explicit-deny':
    case 'missing-action':
      return `Policy doesn't allow ${decision.action ?? 'this request'} to be performed.`
  }
}

/** Status, JSON body and headers for a denial. */
export function denialResponse (decision: DenyDecision): DenialResponse {
  const message = denialMessage(decision)
  const status = decision.status
  // RFC 9110: a 401 names the scheme; IAM tokens are Keystone tokens.
  const headers = status === 401 ? CHALLENGE : NO_HEADERS
  if (decision.family === 'evs') {
    return { status, body: { error: { code: EVS_CODE[status], message } }, headers }
  }
  if (status === 401) {
    // keystonemiddleware's answer, which OpenStack clients expect in front of Cinder.
    return { status, body: { error: { code: 401, title: 'Unauthorized', message } }, headers }
  }
  return { status, body: { [OPENSTACK_FAULT[status]]: { code: status, message } }, headers }
}
