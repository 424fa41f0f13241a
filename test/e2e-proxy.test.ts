// End to end through the real demo gateway (examples/gateway.ts: @fastify/jwt reading X-Auth-Token,
// evs-authz, @fastify/http-proxy) in front of a recording backend, over raw HTTP/1.1 bytes (fetch and
// inject normalize the request target, so the bypass spellings of docs/threat-model.md are written
// by hand). The backend resolves every request it receives the way a lenient Cinder would (WSGI
// decoding, routes.Mapper with a `.json` format suffix, case-insensitive collections, merged slashes,
// dot segments), with its own resolver over the seed fixture: nothing here asks src/ what a path means.
//
// The property, per request the backend received: evs-authz allowed it; the route the lenient backend
// resolves is the route evs-authz authorized; the persona's literal grant covers every action of that
// route in its own project; and the path the backend received is exactly the path that was authorized.
// Conversely: nothing denied ever reaches the backend, every expected allow does, and the status of
// every request is the literal one in the case tables below.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import type { Decision } from 'evs-authz'
import { buildGateway } from '../examples/gateway.js'
import { seedRows } from './fixtures/seed-table.js'

const P = '5f3c9a0e2b7d4e61a8c0d2f4b6e8a1c3'
const P_UPPER = '5F3C9A0E2B7D4E61A8C0D2F4B6E8A1C3'
const Q = 'c3a1e8b6f4d2c0a8164e7d2b0e9a3c5f'
const S = '7d1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b'
const K = 'k1'
const SECRET = 'e2e-proxy-test-secret-0123456789abcdef'

// ---------------------------------------------------------------------------------------------
// Personas: literal claims, signed by the gateway's own @fastify/jwt.

type PersonaName = 'full' | 'reader' | 'noDelete' | 'other' | 'none'

interface Persona {
  readonly project: string
  readonly actions: readonly string[]
}

const PERSONAS: Readonly<Record<Exclude<PersonaName, 'none'>, Persona>> = {
  full: { project: P, actions: ['evs:*:*'] },
  reader: { project: P, actions: ['evs:snapshots:get', 'evs:snapshots:list'] },
  noDelete: {
    project: P,
    actions: ['evs:snapshots:create', 'evs:snapshots:list', 'evs:snapshots:get', 'evs:snapshots:update', 'evs:snapshots:rollback',
      'evs:volumes:get']
  },
  other: { project: Q, actions: ['evs:*:*'] }
}
const PERSONA_ORDER: readonly PersonaName[] = ['full', 'reader', 'noDelete', 'other', 'none']

/** Identity headers keystonemiddleware sets for the backend; a client must never get one through. */
const IDENTITY_HEADERS: readonly string[] = [
  'x-identity-status', 'x-service-identity-status', 'x-roles', 'x-role', 'x-service-roles', 'x-project-id',
  'x-project-name', 'x-user-id', 'x-user-name', 'x-tenant-id', 'x-tenant-name', 'x-tenant', 'x-user',
  'x-domain-id', 'x-is-admin-project', 'openstack-system-scope', 'x-service-catalog'
]
const OVERRIDE_HEADERS: readonly string[] = ['x-http-method-override', 'x-http-method', 'x-method-override']

/** How a WSGI server names a header in the environ: `X-Roles` and `X_Roles` both become HTTP_X_ROLES. */
function wsgiKey (name: string): string {
  return `HTTP_${name.toUpperCase().replaceAll('-', '_')}`
}
const IDENTITY_KEYS = new Set(IDENTITY_HEADERS.map(wsgiKey))
const OVERRIDE_KEYS = new Set(OVERRIDE_HEADERS.map(wsgiKey))

// ---------------------------------------------------------------------------------------------
// Case tables. Every expected status is literal; `reaches` is the route (method + template) the
// backend must resolve for an expected 200.

interface Case {
  readonly id: string
  readonly klass: string
  readonly persona: PersonaName
  readonly method: string
  readonly target: string
  readonly headers: readonly string[]
  readonly status: number
  readonly reaches: string | undefined
}

type Statuses = readonly [full: number, reader: number, noDelete: number, other: number, none: number]

interface MatrixRow {
  readonly method: string
  readonly target: string
  readonly route: string
  readonly statuses: Statuses
}

function row (method: string, target: string, template: string, statuses: Statuses): MatrixRow {
  return { method, target, route: `${method} ${template}`, statuses }
}

// Every row of the table, v2 then v3, with concrete ids. Statuses: full, reader, noDelete, other, none.
const MATRIX: readonly MatrixRow[] = [
  row('POST', `/v2/${P}/snapshots`, '/v2/{project_id}/snapshots', [200, 403, 200, 403, 401]),
  row('POST', `/v2/${P}/cloudsnapshots`, '/v2/{project_id}/cloudsnapshots', [200, 403, 200, 403, 401]),
  row('GET', `/v2/${P}/snapshots`, '/v2/{project_id}/snapshots', [200, 200, 200, 403, 401]),
  row('GET', `/v2/${P}/snapshots/detail`, '/v2/{project_id}/snapshots/detail', [200, 200, 200, 403, 401]),
  row('GET', `/v2/${P}/cloudsnapshots/detail`, '/v2/{project_id}/cloudsnapshots/detail', [200, 200, 200, 403, 401]),
  row('PUT', `/v2/${P}/snapshots/${S}`, '/v2/{project_id}/snapshots/{snapshot_id}', [200, 403, 200, 403, 401]),
  row('PUT', `/v2/${P}/cloudsnapshots/${S}`, '/v2/{project_id}/cloudsnapshots/{snapshot_id}', [200, 403, 200, 403, 401]),
  row('GET', `/v2/${P}/snapshots/${S}`, '/v2/{project_id}/snapshots/{snapshot_id}', [200, 200, 200, 403, 401]),
  row('GET', `/v2/${P}/cloudsnapshots/${S}`, '/v2/{project_id}/cloudsnapshots/{snapshot_id}', [200, 200, 200, 403, 401]),
  row('DELETE', `/v2/${P}/snapshots/${S}`, '/v2/{project_id}/snapshots/{snapshot_id}', [200, 403, 403, 403, 401]),
  row('DELETE', `/v2/${P}/cloudsnapshots/${S}`, '/v2/{project_id}/cloudsnapshots/{snapshot_id}', [200, 403, 403, 403, 401]),
  row('POST', `/v2/${P}/cloudsnapshots/${S}/rollback`, '/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback', [200, 403, 200, 403, 401]),
  row('POST', `/v2/${P}/os-vendor-snapshots/${S}/rollback`, '/v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback',
    [200, 403, 200, 403, 401]),
  row('POST', `/v2/${P}/snapshots/${S}/metadata`, '/v2/{project_id}/snapshots/{snapshot_id}/metadata', [200, 403, 200, 403, 401]),
  row('GET', `/v2/${P}/snapshots/${S}/metadata`, '/v2/{project_id}/snapshots/{snapshot_id}/metadata', [200, 200, 200, 403, 401]),
  row('PUT', `/v2/${P}/snapshots/${S}/metadata/${K}`, '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', [200, 403, 200, 403, 401]),
  row('PUT', `/v2/${P}/snapshots/${S}/metadata`, '/v2/{project_id}/snapshots/{snapshot_id}/metadata', [200, 403, 200, 403, 401]),
  row('GET', `/v2/${P}/snapshots/${S}/metadata/${K}`, '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', [200, 200, 200, 403, 401]),
  row('DELETE', `/v2/${P}/snapshots/${S}/metadata/${K}`, '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}',
    [200, 403, 403, 403, 401]),

  row('POST', `/v3/${P}/snapshots`, '/v3/{project_id}/snapshots', [200, 403, 200, 403, 401]),
  row('GET', `/v3/${P}/snapshots`, '/v3/{project_id}/snapshots', [200, 200, 200, 403, 401]),
  row('GET', `/v3/${P}/snapshots/detail`, '/v3/{project_id}/snapshots/detail', [200, 200, 200, 403, 401]),
  row('PUT', `/v3/${P}/snapshots/${S}`, '/v3/{project_id}/snapshots/{snapshot_id}', [200, 403, 200, 403, 401]),
  row('GET', `/v3/${P}/snapshots/${S}`, '/v3/{project_id}/snapshots/{snapshot_id}', [200, 200, 200, 403, 401]),
  row('DELETE', `/v3/${P}/snapshots/${S}`, '/v3/{project_id}/snapshots/{snapshot_id}', [200, 403, 403, 403, 401]),
  row('POST', `/v3/${P}/os-vendor-snapshots/${S}/rollback`, '/v3/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback',
    [200, 403, 200, 403, 401]),
  row('POST', `/v3/${P}/snapshots/${S}/metadata`, '/v3/{project_id}/snapshots/{snapshot_id}/metadata', [200, 403, 200, 403, 401]),
  row('GET', `/v3/${P}/snapshots/${S}/metadata`, '/v3/{project_id}/snapshots/{snapshot_id}/metadata', [200, 200, 200, 403, 401]),
  row('PUT', `/v3/${P}/snapshots/${S}/metadata/${K}`, '/v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}', [200, 403, 200, 403, 401]),
  row('PUT', `/v3/${P}/snapshots/${S}/metadata`, '/v3/{project_id}/snapshots/{snapshot_id}/metadata', [200, 403, 200, 403, 401]),
  row('GET', `/v3/${P}/snapshots/${S}/metadata/${K}`, '/v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}', [200, 200, 200, 403, 401]),
  row('DELETE', `/v3/${P}/snapshots/${S}/metadata/${K}`, '/v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}',
    [200, 403, 403, 403, 401])
]

type Expect = Partial<Record<PersonaName, number>>

interface Probe {
  readonly klass: string
  readonly method: string
  readonly target: string
  readonly expect: Expect
  readonly headers?: readonly string[]
  /** For expected 200s: the route the backend must resolve. */
  readonly reaches?: string
}

function p (klass: string, method: string, target: string, expect: Expect,
  extra: { headers?: readonly string[], reaches?: string } = {}): Probe {
  return { klass, method, target, expect, ...extra }
}

const SPOOF = ['X-Roles: admin', `X-Project-Id: ${Q}`, 'X-Identity-Status: Confirmed']
const SPOOF_MORE = ['X-Roles: admin', 'X-Is-Admin-Project: True', 'X-Service-Roles: admin', 'OpenStack-System-Scope: all',
  'X-User-Id: admin', `X-Tenant-Id: ${Q}`]
const SPOOF_UNDERSCORE = ['X_Roles: admin', `X_Project_Id: ${Q}`, 'X_Identity_Status: Confirmed']

/** Path-confusion spellings on a selection of rows. The port-dependent ones need the listening ports. */
function probes (gatewayPort: number, backendPort: number): readonly Probe[] {
  const gw = `127.0.0.1:${gatewayPort}`
  return [
    p('dot segments (raw)', 'GET', `/v2/${P}/snapshots/./detail`, { full: 400, reader: 400, none: 400 }),
    p('dot segments (raw)', 'GET', `/v2/${P}/snapshots/${S}/../detail`, { full: 400, reader: 400 }),
    p('dot segments (raw)', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/..`, { full: 400, noDelete: 400 }),
    p('dot segments (raw)', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/${K}/../..`, { noDelete: 400 }),
    p('dot segments (raw)', 'GET', `/v2/${Q}/../${P}/snapshots`, { other: 400 }),
    p('dot segments (raw)', 'GET', `/x/../v2/${P}/snapshots/detail`, { reader: 400, none: 400 }),
    p('dot segments (raw)', 'GET', `/v2/${P}/snapshots/detail/.`, { reader: 400 }),
    p('dot segments (raw)', 'GET', `/v3/${P}/snapshots/${S}/metadata/../../detail`, { reader: 400 }),

    p('dot segments (%2e)', 'GET', `/v2/${P}/snapshots/%2e/detail`, { full: 400, reader: 400 }),
    p('dot segments (%2e)', 'GET', `/v2/${P}/snapshots/${S}/%2e%2e/detail`, { reader: 400 }),
    p('dot segments (%2e)', 'GET', `/v2/${P}/snapshots/${S}/%2E%2E/detail`, { reader: 400 }),
    p('dot segments (%2e)', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/.%2e`, { noDelete: 400 }),
    p('dot segments (%2e)', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/%2e.`, { noDelete: 400 }),
    p('dot segments (%2e)', 'GET', `/v2/${Q}/%2e%2e/${P}/snapshots`, { other: 400 }),
    p('dot segments (%2e)', 'GET', `/v2/${P}/%2e/snapshots`, { none: 400 }),

    p('encoded slash', 'GET', `/v2/${P}/snapshots/${S}%2Fmetadata`, { full: 400, reader: 400 }),
    p('encoded slash', 'GET', `/v2/${P}/snapshots/${S}%2fmetadata`, { reader: 400 }),
    p('encoded slash', 'DELETE', `/v2/${P}/snapshots/${S}%2Fmetadata%2F${K}`, { noDelete: 400 }),
    p('encoded slash', 'PUT', `/v2/${P}/snapshots/${S}/metadata/a%2Fb`, { full: 400 }),
    p('encoded slash', 'GET', `/v2/${Q}%2F..%2F${P}/snapshots`, { other: 400 }),
    p('encoded slash', 'POST', `/v2/${P}/snapshots%2F${S}%2Fmetadata`, { reader: 400 }),

    p('encoded letters', 'GET', `/v2/${P}/snapshots/%64etail`, { full: 400, reader: 400, none: 400 }),
    p('encoded letters', 'GET', `/v2/${P}/sn%61pshots`, { reader: 400 }),
    p('encoded letters', 'DELETE', `/v2/${P}/sn%61pshots/${S}`, { noDelete: 400 }),
    p('encoded letters', 'GET', `/v2/${P}/cloud%73napshots/detail`, { reader: 400 }),
    p('encoded letters', 'GET', `/%762/${P}/snapshots`, { reader: 400 }),
    p('encoded letters', 'GET', `/v2/${P}/snapshots/${S}/%6Detadata`, { reader: 400 }),

    p('backslash', 'GET', `/v2/${P}/snapshots\\detail`, { reader: 400 }),
    p('backslash', 'GET', `/v2/${P}/snapshots/${S}\\metadata`, { full: 400, reader: 400 }),
    p('backslash', 'DELETE', `/v2/${P}/snapshots/${S}\\metadata\\${K}`, { noDelete: 400 }),
    p('backslash', 'GET', `/v2/${P}/snapshots/${S}%5Cmetadata`, { reader: 400 }),
    p('backslash', 'GET', `/v2/${P}/snapshots/${S}%5cmetadata`, { reader: 400 }),
    p('backslash', 'GET', `\\v2\\${P}\\snapshots`, { reader: 400 }),

    p('duplicate and trailing slashes', 'GET', `/v2/${P}/snapshots//detail`, { reader: 400 }),
    p('duplicate and trailing slashes', 'GET', `//v2/${P}/snapshots`, { reader: 400 }),
    p('duplicate and trailing slashes', 'GET', `///v2/${P}/snapshots`, { reader: 400 }),
    p('duplicate and trailing slashes', 'GET', `/v2//${P}/snapshots`, { reader: 400 }),
    p('duplicate and trailing slashes', 'GET', `/v2/${P}//snapshots/${S}`, { reader: 400 }),
    p('duplicate and trailing slashes', 'GET', `/v2/${P}/snapshots/`, { full: 400, reader: 400, none: 400 }),
    p('duplicate and trailing slashes', 'DELETE', `/v2/${P}/snapshots/${S}/`, { full: 400 }),
    p('duplicate and trailing slashes', 'GET', `/v2/${P}/snapshots/detail//`, { reader: 400 }),

    p('semicolon', 'GET', `/v2/${P}/snapshots/detail;x=1`, { reader: 400 }),
    p('semicolon', 'GET', `/v2/${P}/snapshots;/${S}`, { reader: 400 }),
    p('semicolon', 'GET', `/v2/${P}/snapshots/${S};/metadata`, { reader: 400 }),
    p('semicolon', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/${K};.json`, { noDelete: 400 }),
    p('semicolon', 'GET', `/v2/${P}/snapshots/${S}%3Bmetadata`, { reader: 400 }),
    p('semicolon', 'GET', `/v2/${P}/snapshots/${S}%3bmetadata`, { reader: 400 }),

    // A case-insensitive backend reads these as real routes; evs-authz matches case-sensitively and
    // refuses them (403 route-not-found, 401 without a token); a parameter spelled like a sibling
    // static segment (DETAIL) is refused as ambiguous before any token is read (400).
    p('case variants', 'GET', `/v2/${P}/SNAPSHOTS`, { full: 403, reader: 403, none: 401 }),
    p('case variants', 'GET', `/v2/${P}/SNAPSHOTS/detail`, { reader: 403 }),
    p('case variants', 'GET', `/v2/${P}/snapshots/DETAIL`, { full: 400, reader: 400, none: 400 }),
    p('case variants', 'GET', `/v2/${P}/snapshots/Detail`, { reader: 400 }),
    p('case variants', 'GET', `/V2/${P}/snapshots`, { full: 403, reader: 403, none: 401 }),
    p('case variants', 'GET', `/V3/${P}/snapshots/${S}`, { reader: 403 }),
    p('case variants', 'DELETE', `/v2/${P}/Snapshots/${S}`, { full: 403, noDelete: 403 }),
    p('case variants', 'GET', `/v2/${P}/CLOUDSNAPSHOTS/detail`, { reader: 403 }),
    p('case variants', 'GET', `/v2/${P}/snapshots/${S}/METADATA`, { reader: 403 }),
    p('case variants', 'POST', `/v2/${P}/OS-VENDOR-SNAPSHOTS/${S}/rollback`, { noDelete: 403 }),
    p('case variants', 'GET', `/v2/${P_UPPER}/snapshots`, { full: 403 }),

    p('absolute-form', 'GET', `http://${gw}/v2/${P}/snapshots`, { full: 400, reader: 400, none: 400 }),
    p('absolute-form', 'DELETE', `http://${gw}/v2/${P}/snapshots/${S}`, { full: 400, noDelete: 400 }),
    p('absolute-form', 'GET', `http://127.0.0.1:${backendPort}/v2/${P}/snapshots/detail`, { reader: 400 }),
    p('absolute-form', 'GET', `HTTP://${gw}/V2/${P}/snapshots`, { reader: 400 }),
    p('absolute-form', 'GET', `http://${gw}//v2/${P}/snapshots`, { reader: 400 }),
    p('absolute-form', 'GET', `http://evil.example/v2/${P}/snapshots/${S}`, { reader: 400 }),

    p('method override', 'POST', `/v2/${P}/snapshots`, { full: 400, noDelete: 400 }, { headers: ['X-HTTP-Method-Override: DELETE'] }),
    p('method override', 'GET', `/v2/${P}/snapshots/${S}`, { reader: 400, noDelete: 400, none: 400 },
      { headers: ['X-HTTP-Method-Override: DELETE'] }),
    p('method override', 'GET', `/v2/${P}/snapshots/${S}/metadata/${K}`, { reader: 400 }, { headers: ['X-HTTP-Method: DELETE'] }),
    p('method override', 'POST', `/v2/${P}/snapshots/${S}/metadata`, { noDelete: 400 }, { headers: ['X-Method-Override: DELETE'] }),
    p('method override', 'GET', `/v2/${P}/snapshots`, { reader: 400 }, { headers: ['x-http-method-override: POST'] }),
    p('method override', 'GET', `/v2/${P}/snapshots/detail`, { reader: 400 }, { headers: ['X-HTTP-Method-Override: GET'] }),

    // Cinder's mapper strips `.json`; ids never contain dots and metadata keys never end in a format
    // suffix, so these match no row (403/401): `k1.json` would be the key `k1` to the backend.
    p('format suffix', 'GET', `/v2/${P}/snapshots/detail.json`, { full: 403, reader: 403, none: 401 }),
    p('format suffix', 'GET', `/v2/${P}/snapshots/${S}.json`, { full: 403, reader: 403 }),
    p('format suffix', 'DELETE', `/v2/${P}/snapshots/${S}.json`, { full: 403, noDelete: 403 }),
    p('format suffix', 'GET', `/v2/${P}/snapshots.json`, { full: 403, reader: 403 }),
    p('format suffix', 'POST', `/v2/${P}/snapshots.json`, { full: 403 }),
    p('format suffix', 'GET', `/v2/${P}/cloudsnapshots/detail.json`, { reader: 403 }),
    p('format suffix', 'GET', `/v3/${P}/snapshots/${S}/metadata.json`, { reader: 403 }),
    p('format suffix', 'GET', `/v2/${P}/snapshots/${S}/metadata/${K}.json`, { full: 403, reader: 403 }),
    p('format suffix', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/${K}.json`, { full: 403, noDelete: 403 }),
    p('format suffix', 'PUT', `/v2/${P}/snapshots/${S}/metadata/${K}.XML`, { full: 403, reader: 403 }),
    p('format suffix', 'PUT', `/v2/${P}/snapshots/${S}/metadata/.json`, { full: 403, reader: 403 }),

    p('fragment', 'GET', `/v2/${P}/snapshots/${S}#x`, { reader: 400 }),
    p('fragment', 'GET', `/v2/${P}/snapshots#/../detail`, { reader: 400 }),
    p('fragment', 'GET', `/v2/${P}/snapshots/detail#`, { reader: 400 }),
    p('fragment', 'DELETE', `/v2/${P}/snapshots/${S}#/metadata/${K}`, { noDelete: 400 }),
    p('fragment', 'GET', `/x#/../v2/${P}/snapshots/${S}`, { reader: 400 }),

    p('overlong UTF-8', 'GET', `/v2/${P}/snapshots/${S}/%c0%ae%c0%ae/detail`, { reader: 400 }),
    p('overlong UTF-8', 'GET', `/v2/${P}/snapshots/${S}%c0%afmetadata`, { reader: 400 }),
    p('overlong UTF-8', 'GET', `/v2/${P}/snapshots/%e0%80%ae/detail`, { reader: 400 }),
    p('overlong UTF-8', 'GET', `/v2/${P}/sn%c1%a1pshots/detail`, { reader: 400 }),
    p('overlong UTF-8', 'DELETE', `/v2/${P}/snapshots/${S}/metadata/%c0%ae%c0%ae`, { noDelete: 400 }),
    p('overlong UTF-8', 'GET', `/v2/${P}/snapshots/${S}%e0%80%afmetadata`, { reader: 400 }),

    p('other escapes', 'GET', `/v2/${P}/snapshots/${S}%3F/metadata`, { reader: 403 }),
    p('other escapes', 'GET', `/v2/${P}/snapshots/detail%23x`, { reader: 403 }),
    p('other escapes', 'GET', `/v2/${P}/snapshots/%252e%252e/detail`, { reader: 400 }),
    p('other escapes', 'GET', `/v2/${P}/snapshots/${S}%00`, { reader: 400 }),
    p('other escapes', 'GET', `/v2/${P}/snapshots/${S}/metadata/k%201`, { reader: 200 },
      { reaches: 'GET /v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}' }),

    p('query string', 'GET', `/v2/${P}/snapshots?x=/../${S}`, { reader: 200 }, { reaches: 'GET /v2/{project_id}/snapshots' }),
    p('query string', 'GET', `/v2/${P}/snapshots/detail?limit=1&marker=${S}`, { reader: 200 },
      { reaches: 'GET /v2/{project_id}/snapshots/detail' }),
    p('query string', 'DELETE', `/v2/${P}/snapshots/${S}?/metadata/${K}`, { noDelete: 403 }),

    // HEAD is authorized as GET; other methods, and methods a path has no row for, are denied.
    p('HEAD and other methods', 'HEAD', `/v2/${P}/snapshots/${S}`, { reader: 200, other: 403, none: 401 },
      { reaches: 'GET /v2/{project_id}/snapshots/{snapshot_id}' }),
    p('HEAD and other methods', 'HEAD', `/v2/${P}/cloudsnapshots`, { full: 403 }),
    p('HEAD and other methods', 'OPTIONS', `/v2/${P}/snapshots`, { full: 403 }),
    p('HEAD and other methods', 'PATCH', `/v2/${P}/snapshots/${S}`, { full: 403 }),
    p('HEAD and other methods', 'DELETE', `/v2/${P}/snapshots/detail`, { full: 403 }),

    // The other project's persona works in its own project, and nobody works in a project not theirs.
    p('project scope', 'GET', `/v2/${Q}/snapshots/${S}`, { other: 200, full: 403, reader: 403 },
      { reaches: 'GET /v2/{project_id}/snapshots/{snapshot_id}' }),
    p('project scope', 'DELETE', `/v3/${Q}/snapshots/${S}`, { other: 200, full: 403, noDelete: 403 },
      { reaches: 'DELETE /v3/{project_id}/snapshots/{snapshot_id}' }),

    p('spoofed identity headers', 'GET', `/v2/${P}/snapshots/${S}`, { full: 200, reader: 200 },
      { headers: SPOOF, reaches: 'GET /v2/{project_id}/snapshots/{snapshot_id}' }),
    p('spoofed identity headers', 'DELETE', `/v2/${P}/snapshots/${S}`, { reader: 403, noDelete: 403 }, { headers: SPOOF }),
    p('spoofed identity headers', 'GET', `/v2/${P}/snapshots`, { none: 401 }, { headers: SPOOF_MORE }),
    p('spoofed identity headers', 'GET', `/v2/${Q}/snapshots`, { reader: 403 }, { headers: [`X-Project-Id: ${Q}`, `X-Tenant-Id: ${Q}`] }),
    p('spoofed identity headers', 'POST', `/v2/${P}/snapshots`, { noDelete: 200 },
      { headers: SPOOF_MORE, reaches: 'POST /v2/{project_id}/snapshots' }),
    // WSGI names both X-Roles and X_Roles HTTP_X_ROLES: the underscore spelling is the same header to Cinder.
    p('spoofed identity headers (underscore)', 'GET', `/v2/${P}/snapshots/${S}`, { reader: 200 },
      { headers: SPOOF_UNDERSCORE, reaches: 'GET /v2/{project_id}/snapshots/{snapshot_id}' })
  ]
}

// ---------------------------------------------------------------------------------------------
// The backend's view: a lenient Cinder (WSGI + routes.Mapper), written here from the seed data.

interface Resolved {
  readonly route: string
  readonly actions: readonly string[]
  readonly params: Readonly<Record<string, string>>
}

/** Percent-decodes to bytes, then decodes UTF-8 laxly: overlong forms become what they spell. */
function laxDecode (path: string): string {
  const bytes: number[] = []
  for (let i = 0; i < path.length; i++) {
    const hex = path.slice(i + 1, i + 3)
    if (path[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      bytes.push(path.charCodeAt(i) & 0xff) // PATH_INFO is latin-1
    }
  }
  let out = ''
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i] as number
    const need = b >= 0xf0 && b <= 0xf7 ? 3 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xc0 && b <= 0xdf ? 1 : 0
    const tail = bytes.slice(i + 1, i + 1 + need)
    if (b < 0x80 || need === 0 || tail.length < need || tail.some((c) => c < 0x80 || c > 0xbf)) {
      out += b < 0x80 ? String.fromCharCode(b) : '\ufffd'
      i += 1
      continue
    }
    let codePoint = b & (0x3f >> need)
    for (const c of tail) codePoint = (codePoint << 6) | (c & 0x3f)
    out += codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\ufffd'
    i += need + 1
  }
  return out
}

const TABLE =
  seedRows.map((r) => ({ method: r.method as string, segments: r.template.split('/').slice(1), template: r.template, actions: r.actions }))

/** Which route a lenient Cinder runs for this request; undefined when it would answer 404/405. */
function lenientResolve (method: string, url: string, headers: IncomingMessage['headers']): Resolved | undefined {
  let target = url
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(target)
  if (authority !== null) target = target.slice(authority[0].length)
  const path = target.split(/[?#]/)[0] ?? ''
  const segments: string[] = []
  for (const raw of laxDecode(path).replaceAll('\\', '/').split('/')) {
    const segment = raw.split(';')[0] ?? ''
    if (segment === '' || segment === '.') continue
    if (segment === '..') segments.pop()
    else segments.push(segment)
  }
  const last = segments.length - 1
  if (last >= 0 && /^.+\.json$/i.test(segments[last] ?? '')) segments[last] = (segments[last] as string).slice(0, -'.json'.length)
  let effective = method.toUpperCase()
  for (const name of OVERRIDE_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string') effective = value.toUpperCase()
  }
  if (effective === 'HEAD') effective = 'GET'

  let best: {
    readonly row: typeof TABLE[number]
    readonly statics: readonly boolean[]
    readonly params: Record<string, string>
  } | undefined
  for (const candidate of TABLE) {
    if (candidate.method !== effective || candidate.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    const statics: boolean[] = []
    let fits = true
    candidate.segments.forEach((part, i) => {
      const value = segments[i] as string
      if (part.startsWith('{')) {
        params[part.slice(1, -1)] = value
        statics.push(false)
      } else if (part.toLowerCase() === value.toLowerCase()) {
        statics.push(true)
      } else {
        fits = false
      }
    })
    if (!fits) continue
    // routes.Mapper tries collection routes (`detail`) before member routes (`{id}`): statics win.
    if (best === undefined || staticFirst(statics, best.statics)) best = { row: candidate, statics, params }
  }
  if (best === undefined) return undefined
  return { route: `${best.row.method} ${best.row.template}`, actions: best.row.actions, params: best.params }
}

/** At the first segment where two templates differ, the one with the static segment wins. */
function staticFirst (a: readonly boolean[], b: readonly boolean[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] === true
  return false
}

/** Our own IAM pattern check: `svc:res:op`, `*` a glob within a segment, bare `*` everything. */
function grantCovers (patterns: readonly string[], action: string): boolean {
  const [service, resource, operation] = action.split(':')
  return patterns.some((pattern) => {
    if (pattern === '*') return true
    const [ps, pr, po] = pattern.split(':')
    return ps === service && glob(pr ?? '', resource ?? '') && glob(po ?? '', operation ?? '')
  })
}

function glob (pattern: string, value: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^:]*')
  return new RegExp(`^${source}$`, 'i').test(value)
}

// ---------------------------------------------------------------------------------------------
// Servers and the raw client.

interface Received {
  readonly method: string
  readonly url: string
  readonly id: string | undefined
  readonly headerNames: readonly string[]
  readonly headers: IncomingMessage['headers']
}

interface Answer {
  readonly status: number
  readonly raw: string
}

/** True once `response` holds a whole HTTP/1.1 response (headers, then Content-Length or chunked framing). */
function complete (response: string, method: string): boolean {
  const end = response.indexOf('\r\n\r\n')
  if (end === -1) return false
  const head = response.slice(0, end).toLowerCase()
  const body = response.slice(end + 4)
  if (method === 'HEAD' || /^http\/1\.1 (1\d\d|204|304) /.test(head)) return true
  const length = /\r\ncontent-length: *(\d+)/.exec(head)
  if (length !== null) return body.length >= Number(length[1])
  if (/\r\ntransfer-encoding: *chunked/.test(head)) return /(^|\r\n)0\r\n\r\n$/.test(body)
  return false
}

/**
 * Writes one request exactly as given (latin1, so every byte is ours) and reads one response. The
 * proxy relays the upstream's `connection: keep-alive`, so the answer is framed, not read to close.
 */
function send (port: number, k: Case, token: string | undefined): Promise<Answer> {
  const body = k.method === 'POST' || k.method === 'PUT' ? '{}' : ''
  const lines = [
    `${k.method} ${k.target} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...(token === undefined ? [] : [`X-Auth-Token: ${token}`]),
    `x-e2e-id: ${k.id}`,
    ...k.headers,
    ...(body === '' ? [] : ['Content-Type: application/json', `Content-Length: ${body.length}`]),
    'Connection: close'
  ]
  const request = `${lines.join('\r\n')}\r\n\r\n${body}`
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let response = ''
    let settled = false
    const finish = (): void => {
      if (settled) return
      settled = true
      socket.destroy()
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(response)
      if (match === null) {
        reject(new Error(`not an HTTP response to ${JSON.stringify(k.target)}: ${JSON.stringify(response.slice(0, 200))}`))
      } else resolve({ status: Number(match[1]), raw: response })
    }
    socket.setEncoding('latin1')
    socket.setTimeout(5000, () => {
      settled = true
      socket.destroy()
      reject(new Error(`no complete answer to ${JSON.stringify(request.slice(0, 200))}: ${JSON.stringify(response.slice(0, 200))}`))
    })
    socket.on('data', (chunk: string) => {
      response += chunk
      if (complete(response, k.method)) finish()
    })
    socket.on('error', (error) => {
      if (!settled) {
        settled = true
        reject(error)
      }
    })
    socket.on('close', finish)
    socket.write(request, 'latin1')
  })
}

const startedAt = Date.now()
const received: Received[] = []
const backend = createServer((req: IncomingMessage, res: ServerResponse) => {
  const id = req.headers['x-e2e-id']
  received.push({
    method: req.method ?? '',
    url: req.url ?? '',
    id: typeof id === 'string' ? id : undefined,
    headerNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
    headers: req.headers
  })
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{}')
  })
})
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
const backendPort = (backend.address() as AddressInfo).port

const decisions = new Map<string, Decision[]>()
const unlabelled: Decision[] = []
const gateway = await buildGateway({
  upstream: `http://127.0.0.1:${backendPort}`,
  secret: SECRET,
  authz: {
    onDecision (decision, request) {
      const id = request.headers['x-e2e-id']
      if (typeof id !== 'string') {
        unlabelled.push(decision)
        return
      }
      const list = decisions.get(id) ?? []
      list.push(decision)
      decisions.set(id, list)
    }
  }
})
await gateway.listen({ host: '127.0.0.1', port: 0 })
const gatewayPort = (gateway.server.address() as AddressInfo).port
t.teardown(async () => {
  await gateway.close()
  backend.closeAllConnections()
  await new Promise<void>((resolve) => backend.close(() => resolve()))
})

const tokens = new Map<PersonaName, string>()
for (const name of PERSONA_ORDER) {
  if (name === 'none') continue
  const persona = PERSONAS[name]
  tokens.set(name, gateway.jwt.sign({ sub: `user-${name}`, project_id: persona.project, actions: persona.actions }, { expiresIn: '10m' }))
}

// Expand the tables into one request each.
const cases: Case[] = []
function add (klass: string, persona: PersonaName, method: string, target: string, headers: readonly string[], status: number,
  reaches: string | undefined): void {
  cases.push({
    id: `e2e-${cases.length + 1}`,
    klass,
    persona,
    method,
    target,
    headers,
    status,
    reaches: status === 200
      ? reaches
      : undefined
  })
}
for (const r of MATRIX) {
  PERSONA_ORDER.forEach((persona, i) =>
    add(`table ${r.target.slice(0, 3)} rows`, persona, r.method, r.target, [], r.statuses[i] as number, r.route))
}
for (const probe of probes(gatewayPort, backendPort)) {
  for (const persona of PERSONA_ORDER) {
    const status = probe.expect[persona]
    if (status !== undefined) add(probe.klass, persona, probe.method, probe.target, probe.headers ?? [], status, probe.reaches)
  }
}

const answers = new Map<string, Answer>()
for (const k of cases) answers.set(k.id, await send(gatewayPort, k, tokens.get(k.persona)))
const elapsed = Date.now() - startedAt

function describeCase (k: Case): string {
  const target = JSON.stringify(k.target).slice(1, -1).replaceAll(P, '{P}').replaceAll(Q, '{Q}')
  const headers = k.headers.length === 0 ? '' : ` [${k.headers.join(', ').replaceAll(Q, '{Q}')}]`
  return `${k.id} ${k.persona} ${k.method} ${target}${headers}`
}

const casesById = new Map(cases.map((k) => [k.id, k]))
const reachedById = new Map<string, Received[]>()
for (const r of received) {
  if (r.id === undefined) continue
  reachedById.set(r.id, [...(reachedById.get(r.id) ?? []), r])
}

// ---------------------------------------------------------------------------------------------
// Assertions.

t.test('the literal table covers every seed row, v2 and v3, exactly once', async (t) => {
  const ours = MATRIX.map((r) => r.route).sort()
  const seed = seedRows.map((r) => `${r.method} ${r.template}`).sort()
  t.same(ours, seed)
  t.equal(new Set(ours).size, 32)
})

t.test('the lenient resolver reads canonical rows as their own route (the model is not vacuous)', async (t) => {
  for (const r of MATRIX) t.equal(lenientResolve(r.method, r.target, {})?.route, r.route, r.target)
  t.equal(lenientResolve('GET', `/v2/${P}/snapshots/${S}%2Fmetadata`, {})?.route, 'GET /v2/{project_id}/snapshots/{snapshot_id}/metadata')
  t.equal(lenientResolve('GET', `/v2/${P}/SNAPSHOTS/detail.json/`, {})?.route, 'GET /v2/{project_id}/snapshots/detail')
  t.equal(lenientResolve('GET', `/v2/${P}/snapshots/${S}/%c0%ae%c0%ae/detail`, {})?.route, 'GET /v2/{project_id}/snapshots/detail')
  t.equal(lenientResolve('GET', `/v2/${P}/snapshots/${S}`, { 'x-http-method-override': 'DELETE' })?.route,
    'DELETE /v2/{project_id}/snapshots/{snapshot_id}')
  t.equal(lenientResolve('DELETE', `/v2/${P}/snapshots/detail`, {})?.route, 'DELETE /v2/{project_id}/snapshots/{snapshot_id}',
    'a mapper falls through to the member route')
  t.equal(lenientResolve('GET', `//v2//${P}/./snapshots\\${S}.json`, {})?.route, 'GET /v2/{project_id}/snapshots/{snapshot_id}')
  t.equal(lenientResolve('GET', `/v2/${P}/volumes`, {}), undefined)
  t.ok(grantCovers(['evs:*:*'], 'evs:volumes:get'))
  t.notOk(grantCovers(['evs:snapshots:get'], 'evs:snapshots:delete'))
  t.notOk(grantCovers(['evs:snapshots:*'], 'evs:volumes:get'))
})

const classes = [...new Set(cases.map((k) => k.klass))]
for (const klass of classes) {
  const inClass = cases.filter((k) => k.klass === klass)
  t.test(`${klass} (${inClass.length} requests)`, async (t) => {
    for (const k of inClass) {
      const name = describeCase(k)
      const answer = answers.get(k.id) as Answer
      const reached = reachedById.get(k.id) ?? []
      const made = decisions.get(k.id) ?? []
      t.equal(answer.status, k.status, `${name}: status`)
      t.ok(made.length <= 1, `${name}: at most one decision`)
      const decision = made[0]
      if (decision !== undefined && decision.kind === 'deny') {
        t.equal(decision.status, answer.status, `${name}: answered with the decision's status`)
      }
      if (k.status !== 200) {
        t.same(reached.map((r) => `${r.method} ${r.url}`), [], `${name}: never reaches the backend`)
        continue
      }
      t.equal(decision?.kind, 'allow', `${name}: allowed by evs-authz`)
      t.same(reached.map((r) => `${r.method} ${r.url}`), [`${k.method} ${k.target}`], `${name}: reaches the backend once, unchanged`)
      const seen = reached[0]
      if (seen !== undefined) {
        t.equal(lenientResolve(seen.method, seen.url, seen.headers)?.route, k.reaches, `${name}: the backend runs ${k.reaches ?? '?'}`)
      }
    }
  })
}

t.test('every request the backend received was authorized for exactly the route it ran', async (t) => {
  t.ok(received.length > 0, 'the backend was reached at all')
  t.same(unlabelled.map((d) => `${d.method} ${d.path}`), [], 'every decision belongs to a request we sent')
  for (const r of received) {
    const k = r.id === undefined ? undefined : casesById.get(r.id)
    const label = `${r.id ?? '(no x-e2e-id)'} ${r.method} ${JSON.stringify(r.url)}`
    if (k === undefined) {
      t.fail(`${label}: reached the backend but is none of our requests`)
      continue
    }
    const made = decisions.get(k.id) ?? []
    const decision = made[0]
    // (a) an allow decision for this very request
    t.equal(made.length, 1, `${label}: exactly one decision`)
    if (decision === undefined || decision.kind === 'deny') {
      t.fail(`${label}: reached the backend without an allow decision (${decision?.reason ?? 'none'})`)
      continue
    }
    // (b) the backend's lenient reading is the route evs-authz authorized
    const resolved = lenientResolve(r.method, r.url, r.headers)
    const authorized = decision.route === undefined ? undefined : `${decision.route.method} ${decision.route.template}`
    t.equal(resolved?.route, authorized, `${label}: backend route = authorized route`)
    // (c) the persona's literal grant covers every action of the route the backend runs, in its project
    if (k.persona === 'none') {
      t.fail(`${label}: reached the backend without a token`)
    } else if (resolved !== undefined) {
      const persona = PERSONAS[k.persona]
      t.equal(resolved.params['project_id'], persona.project, `${label}: in the persona's project`)
      for (const action of resolved.actions) t.ok(grantCovers(persona.actions, action), `${label}: ${k.persona} holds ${action}`)
    }
    // (d) what passed the gate is what was forwarded
    t.equal(r.url.split('?')[0], decision.path, `${label}: forwarded path = authorized path`)
    t.equal(r.method, k.method, `${label}: method unchanged`)
    // No identity or method-override header reaches the backend, under any WSGI-equivalent spelling.
    const smuggled = r.headerNames.filter((n) => IDENTITY_KEYS.has(wsgiKey(n)) || OVERRIDE_KEYS.has(wsgiKey(n)))
    t.same(smuggled, [], `${label}: no identity or override header reaches the backend`)
  }
})

t.test('denials never reach the backend; expected allows always do', async (t) => {
  let denied = 0
  let allowed = 0
  for (const k of cases) {
    const decision = decisions.get(k.id)?.[0]
    const reached = reachedById.get(k.id) ?? []
    if (decision !== undefined && decision.kind === 'deny') {
      denied++
      t.equal(reached.length, 0, `${describeCase(k)}: denied (${decision.reason}) and not forwarded`)
    }
    if (k.status === 200) {
      allowed++
      t.equal(reached.length, 1, `${describeCase(k)}: expected allow was forwarded`)
    }
  }
  t.ok(denied > 0 && allowed > 0, `${denied} denials, ${allowed} expected allows`)
  t.equal(received.length, cases.filter((k) => k.status === 200).length, 'the backend saw exactly the expected allows')
})

t.test('summary', async (t) => {
  for (const klass of classes) {
    const inClass = cases.filter((k) => k.klass === klass)
    const spellings = new Set(inClass.map((k) => `${k.method} ${k.target} ${k.headers.join(',')}`))
    t.comment(`${klass}: ${spellings.size} spellings, ${inClass.length} requests`)
  }
  t.comment(`total: ${cases.length} requests in ${elapsed} ms; backend received ${received.length}`)
  t.ok(cases.length > 0)
})
