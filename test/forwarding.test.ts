import t from 'tap'
import fc from 'fast-check'
import { IDENTITY_HEADERS, isClientIdentityHeader, stripIdentityHeaders } from '../src/index.js'

// How a WSGI server names a header: `X-Roles`, `x_roles` and `X_ROLES` all become HTTP_X_ROLES.
const spellings = (name: string): string[] => [
  name, name.toUpperCase(), name.replaceAll('-', '_'), name.toUpperCase().replaceAll('-', '_'),
  name.split('-').map((w) => (w === '' ? w : (w[0] ?? '').toUpperCase() + w.slice(1))).join('-')
]

// keystonemiddleware's remove_auth_headers(): the templates for the user ('') and service ('-Service') prefixes.
const templates = ['Domain-Id', 'Domain-Name', 'Project-Id', 'Project-Name', 'Project-Domain-Id', 'Project-Domain-Name',
  'User-Id', 'User-Name', 'User-Domain-Id', 'User-Domain-Name', 'Roles']
const keystonemiddlewareHeaders = [
  'X-Service-Catalog', 'X-Identity-Status', 'X-Service-Identity-Status', 'X-Is-Admin-Project', 'OpenStack-System-Scope',
  'X-Role', 'X-User', 'X-Tenant-Id', 'X-Tenant-Name', 'X-Tenant',
  ...templates.flatMap((tmpl) => [`X-${tmpl}`, `X-Service-${tmpl}`])
]

t.test('every header keystonemiddleware sets is stripped, in every WSGI spelling', async (t) => {
  for (const header of keystonemiddlewareHeaders) {
    for (const spelling of spellings(header)) t.ok(isClientIdentityHeader(spelling), spelling)
  }
  t.equal(new Set(IDENTITY_HEADERS).size, IDENTITY_HEADERS.length, 'no duplicates in the published list')
})

t.test('X-Service-* (service tokens) and Expect are dropped; ordinary headers are kept', async (t) => {
  for (const name of ['X-Service-Token', 'x_service_anything', 'Expect', 'EXPECT']) t.ok(isClientIdentityHeader(name), name)
  for (const name of ['x-auth-token', 'content-type', 'openstack-api-version', 'x-openstack-request-id', 'host', 'x-services']) {
    t.notOk(isClientIdentityHeader(name), name)
  }
  const forwarded = stripIdentityHeaders({ 'x-auth-token': 'tok', X_Roles: 'admin', 'x-project-id': 'p', expect: '100-continue', accept: '*/*' })
  t.same(forwarded, { 'x-auth-token': 'tok', accept: '*/*' })
})

t.test('property: a header survives exactly when its WSGI key is not an identity key', async (t) => {
  const wsgi = (name: string): string => name.toUpperCase().replaceAll('-', '_')
  const identityKeys = new Set([...keystonemiddlewareHeaders, 'Expect'].map(wsgi))
  const names = fc.oneof(fc.constantFrom(...keystonemiddlewareHeaders.flatMap(spellings)), fc.stringMatching(/^[A-Za-z_-]{1,24}$/))
  fc.assert(fc.property(fc.uniqueArray(names, { maxLength: 12 }), (list) => {
    const headers = Object.fromEntries(list.map((n) => [n, 'v']))
    const kept = Object.keys(stripIdentityHeaders(headers))
    for (const name of list) {
      const expectedDropped = identityKeys.has(wsgi(name)) || wsgi(name).startsWith('X_SERVICE_')
      if (kept.includes(name) === expectedDropped) return false
    }
    return true
  }), { numRuns: 2000 })
  t.pass('agrees with the WSGI-key model')
})
