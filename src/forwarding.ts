// Forwarding hygiene for gateways: the request headers a backend must never receive from a client.
// keystonemiddleware's remove_auth_headers() drops the identity headers it is about to set (user and
// `-Service` variants, deprecated aliases); a backend behind a gateway that does not run it would trust
// whatever the client sent. WSGI servers read `X_Roles` and `X-Roles` as the same HTTP_X_ROLES, so names
// are compared with `_` read as `-`, in any case.

/** The identity headers keystonemiddleware sets (and strips first), user and service variants. */
export const IDENTITY_HEADERS: readonly string[] = Object.freeze([
  'x-identity-status', 'x-service-identity-status', 'x-is-admin-project', 'x-service-catalog', 'openstack-system-scope',
  'x-roles', 'x-service-roles', 'x-role', 'x-user', 'x-tenant-id', 'x-tenant-name', 'x-tenant',
  ...['domain-id', 'domain-name', 'project-id', 'project-name', 'project-domain-id', 'project-domain-name',
    'user-id', 'user-name', 'user-domain-id', 'user-domain-name'].flatMap((name) => [`x-${name}`, `x-service-${name}`])
])

const IDENTITY = new Set(IDENTITY_HEADERS)

/**
 * True for a header a client must not pass to the backend: every identity header above, anything else
 * under `X-Service-` (keystonemiddleware's service-token namespace, `X-Service-Token` included), and
 * `Expect` (a gateway that has already answered the client must not make the backend send `100 Continue`).
 */
export function isClientIdentityHeader (name: string): boolean {
  const normal = name.toLowerCase().replaceAll('_', '-')
  return IDENTITY.has(normal) || normal.startsWith('x-service-') || normal === 'expect'
}

/** A copy of `headers` without the headers of isClientIdentityHeader (values kept as they are). */
export function stripIdentityHeaders<H extends Readonly<Record<string, unknown>>> (headers: H): H {
  // Null prototype: a client header named `__proto__` is kept as data, never becomes the prototype.
  const forwarded: Record<string, unknown> = Object.create(null)
  for (const name of Object.keys(headers)) {
    if (!isClientIdentityHeader(name)) forwarded[name] = headers[name]
  }
  // The result has a subset of H's keys; callers keep their header type (IncomingHttpHeaders, ...).
  return forwarded as H
}
