// "No token" and "a token nobody accepted" get the same 401 (keystonemiddleware answers both alike), but an
// operator reading the decision line must tell them apart: a client that forgot the token and a token the
// verifier refused (bad signature, expired, wrong issuer) are different problems. Header names only: never
// the token itself.
import type { Decision } from './decision.js'

const TOKEN_HEADERS: ReadonlyMap<string, string> = new Map([['x-auth-token', 'X-Auth-Token'], ['authorization', 'Authorization']])

type Headers = Readonly<Record<string, string | readonly string[] | undefined>> | undefined

/** The detail of a `no-credentials` decision: which token header was sent, if any. */
export function credentialsDetail (headers: Headers): string {
  for (const name of Object.keys(headers ?? {})) {
    const shown = name.length <= 13 ? TOKEN_HEADERS.get(name.toLowerCase()) : undefined
    const value = headers?.[name]
    if (shown !== undefined && value !== undefined && value.length > 0) {
      return `a token was sent in ${shown} but the authentication before evs-authz accepted none (invalid, expired or unverified)`
    }
  }
  return 'no token was sent (X-Auth-Token or Authorization)'
}

/** A `no-credentials` denial with the detail above; any other decision unchanged. */
export function withCredentialsDetail (decision: Decision, headers: Headers): Decision {
  if (decision.kind === 'allow' || decision.reason !== 'no-credentials' || decision.detail !== undefined) return decision
  return { ...decision, detail: credentialsDetail(headers) }
}
