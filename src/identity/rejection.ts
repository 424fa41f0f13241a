// Identity failures as the client must see them: a typed error a `grants()` function throws, which the
// shared adapter flow turns into a logged denial answered with this exact status, body and challenge
// (keystonemiddleware's 401, a 403 naming the token's scope, a 503 when Keystone cannot answer).
import { denialResponse, denyDecision, type DenialResponse, type DenyDecision, type PendingRequest } from '../core/index.js'

/** Why an identity could not be established. */
export type IdentityRejectionKind = 'no-token' | 'invalid-token' | 'not-project-scoped' | 'identity-unavailable'

const STATUS: Readonly<Record<IdentityRejectionKind, 401 | 403 | 503>> = Object.freeze({
  'no-token': 401,
  'invalid-token': 401,
  'not-project-scoped': 403,
  'identity-unavailable': 503
})

/** keystonemiddleware's messages (401, 503); the 403 says which scope the token has. */
const UNAUTHENTICATED = 'The request you have made requires authentication.'
const UNAVAILABLE = 'The Keystone service is temporarily unavailable.'

/** Thrown (or rejected) by a grants() function: the adapters answer it as it says, never as a 500. */
export class IdentityRejection extends Error {
  readonly kind: IdentityRejectionKind
  readonly status: 401 | 403 | 503
  /** Log-safe explanation (never token material). */
  readonly detail: string
  /** The 401 challenge, `Keystone uri="..."` (RFC 9110: a 401 names the scheme). */
  readonly challenge: string

  constructor (kind: IdentityRejectionKind, detail: string, challenge = 'Keystone') {
    super(`identity rejected (${kind}): ${detail}`)
    this.name = 'IdentityRejection'
    this.kind = kind
    this.status = STATUS[kind]
    this.detail = detail
    this.challenge = challenge
  }
}

export function isIdentityRejection (error: unknown): error is IdentityRejection {
  return error instanceof IdentityRejection
}

/** The answer to a rejection, in the API family's envelope. */
export function rejectionResponse (rejection: IdentityRejection, family: 'cinder' | 'evs'): DenialResponse {
  const { status } = rejection
  if (status === 401) {
    const headers = { 'www-authenticate': rejection.challenge }
    if (family === 'evs') return { status, body: { error: { code: 'EVS.5401', message: 'Authentication required.' } }, headers }
    return { status, body: { error: { code: 401, title: 'Unauthorized', message: UNAUTHENTICATED } }, headers }
  }
  const message = status === 403
    ? `The token is not scoped to a project (${rejection.detail}); this API needs a project-scoped token.`
    : UNAVAILABLE
  if (family === 'evs') return { status, body: { error: { code: status === 403 ? 'EVS.5403' : 'EVS.5503', message } }, headers: {} }
  return { status, body: { [status === 403 ? 'forbidden' : 'serviceUnavailable']: { code: status, message } }, headers: {} }
}

/** Answers that replace denialResponse() for decisions made from an IdentityRejection. */
const answers = new WeakMap<DenyDecision, DenialResponse>()

/**
 * The denial for a rejection: `no-credentials` (401), `invalid-grants` (403) or `grants-error` (503; the
 * decision line says status 503 and the kind in `detail`). The answer is remembered for answerFor().
 */
export function identityDenial (inspection: PendingRequest, rejection: IdentityRejection): DenyDecision {
  const reason = rejection.status === 401 ? 'no-credentials' : rejection.status === 403 ? 'invalid-grants' : 'grants-error'
  const matched = inspection.match.kind === 'matched' ? inspection.match : undefined
  const detail = `${rejection.kind}: ${rejection.detail}`
  const decision = denyDecision(reason, inspection.method, inspection.path, inspection.family, { matched, detail })
  answers.set(decision, rejectionResponse(rejection, inspection.family))
  return decision
}

/** The answer to a denial: the identity answer when it came from a rejection, else the core's. */
export function answerFor (decision: DenyDecision): DenialResponse {
  return answers.get(decision) ?? denialResponse(decision)
}

/** The status a denial is answered with (differs from decision.status only for a 503 rejection). */
export function answeredStatus (decision: DenyDecision): number {
  return answers.get(decision)?.status ?? decision.status
}
