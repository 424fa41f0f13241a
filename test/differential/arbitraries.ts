// Requests mixing every channel a backend reads: method (case, HEAD, unknown), target (authority forms,
// absolute form, prefixes, version and resource spellings, encodings, `%2F`, `//`, `\`, dot segments,
// `.json` / `.xml` suffixes, project-less paths), query (separators `&` and `;`, encoded names, `+`,
// duplicates, `_method`, cross-project and enterprise-project parameters), override headers, identity
// headers, microversions and bodies (JSON, form-encoded and multipart with `_method`).
// Canonical choices are weighted up so that a good share of requests is allowed and reaches the oracle.
import fc from 'fast-check'
import { snapshotRoutes } from '../../src/index.js'
import { OTHER_PROJECT, PROJECT, UPSTREAM_HOST, type RawRequest } from './model.js'

const SNAPSHOT = '3b1f7a52-9c4e-4d2b-8f6a-0c1d2e3f4a5b'
const VOLUME = '3b1f7a52-9c4e-4d2b-8f6a-0c1d2e3f4a5c'
const HOST = UPSTREAM_HOST
/** Shrinking may move to an earlier (simpler) alternative: a counterexample loses the channels it does not need. */
const SHRINK = { withCrossShrink: true } as const

/** Mostly the first (canonical) choice, sometimes any of the others. */
function mostly<T> (canonical: T, weight: number, ...others: T[]): fc.Arbitrary<T> {
  return fc.oneof(SHRINK, { arbitrary: fc.constant(canonical), weight }, { arbitrary: fc.constantFrom(...others), weight: 1 })
}

const method = fc.oneof(SHRINK,
  { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), weight: 8 },
  { arbitrary: fc.constantFrom('HEAD', 'PATCH', 'OPTIONS', 'get', 'post', 'delete', 'Delete', 'put', 'FOO', 'TRACE', 'CONNECT'), weight: 2 }
)

/** What comes before `/v3`: nothing, a doubled slash, an authority, an absolute form, a prefix. */
const lead = mostly('', 24,
  '/', '//', '\\', '/\\', '\\\\', `//${HOST}`, `/\\${HOST}`, `\\\\${HOST}`, `///${HOST}`, `http://${HOST}`, 'http://h', 'HTTP://h',
  `//user@${HOST}`, '/evs', '/./', '/x/..', '/%2F')
const version = mostly('v3', 16, 'v2', 'v2', 'v2', 'v2', 'v2', 'v2', 'V3', 'v3/', '%763', 'v3.0', 'v4', 'v3;x', './v3')
const project = mostly(PROJECT, 20,
  OTHER_PROJECT, '', PROJECT.toUpperCase(), `${PROJECT}.json`, `${PROJECT};x`, 'admin', `${PROJECT}/.`, `x/../${PROJECT}`)
const collection = mostly('snapshots', 16,
  'cloudsnapshots', 'cloudsnapshots', 'cloudsnapshots', 'cloudsnapshots', 'SNAPSHOTS', 'Snapshots', 'snapshot', 'snapshots.json',
  'snapshots.xml', 'os-vendor-snapshots', 'volumes', 'group_snapshots', 'manageable_snapshots', 'snapshots;x=1', '%73napshots',
  'snapshots%2F', 'limits', 'os-snapshot-manage')
const id = mostly(SNAPSHOT, 16,
  'detail', 'DETAIL', 'abc', `${SNAPSHOT}.json`, `${SNAPSHOT}.xml`, `${SNAPSHOT}.yaml`, '%2e%2e', '..', '.', '', `${SNAPSHOT};x`,
  `%${SNAPSHOT.slice(0, 2)}${SNAPSHOT.slice(2)}`, `${SNAPSHOT}%00`, `${SNAPSHOT}%2Fmetadata`, 'detail.json', `${SNAPSHOT}\\metadata`)
const KEYS = ['k1', 'color', 'k1.json', 'k1.xml', 'a%20b', 'k%2Fx', 'k:1', 'k.1', 'K1', '%6b1', 'a b', 'k1;x']
const key = fc.oneof(SHRINK,
  { arbitrary: fc.constantFrom(...KEYS), weight: 3 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9._:%~-]{1,12}$/), weight: 1 }
)
const tail = fc.oneof(SHRINK,
  { arbitrary: fc.constant<string[]>([]), weight: 3 },
  { arbitrary: fc.constant(['detail']), weight: 2 },
  { arbitrary: id.map((x) => [x]), weight: 5 },
  { arbitrary: id.map((x) => [x, 'metadata']), weight: 3 },
  { arbitrary: fc.tuple(id, key).map(([x, k]) => [x, 'metadata', k]), weight: 3 },
  { arbitrary: id.map((x) => [x, 'action']), weight: 2 },
  { arbitrary: id.map((x) => [x, 'rollback']), weight: 1 },
  { arbitrary: id.map((x) => [x, 'metadata.json']), weight: 1 }
)
const separator = mostly('/', 60, '//', '\\', '%2F', '%2f', '/./', '/x/../', '%5C')
const suffix = mostly('', 24, '/', '.json', '.xml', ';x=1', '%00', '/.', '%20', '#frag', '?')

const PLAIN_PARAMETERS = ['limit=5', 'marker=x', 'name=n', 'sort=name', 'status=available', 'x=', 'x=;', 'a=1+2', 'x', '=',
  'with_count=true', 'offset=abc']
const METHOD_PARAMETERS = ['_method=DELETE', '_method=delete', '_method=PUT', '_method=GET', '_method=POST', '%5Fmethod=DELETE',
  '%5fmethod=put', '_METHOD=DELETE', '_method', '_method=', 'x_method=1', '_method=DELETE%00', '_me%74hod=DELETE', '_method=%44ELETE',
  '_method+=DELETE']
const CROSS_PROJECT_PARAMETERS = ['all_tenants=1', 'all_tenants=true', 'all_tenants=0', 'all_tenants=True', 'ALL_TENANTS=1',
  'All_Tenants=1', 'all%5Ftenants=1', 'all%5ftenants=True', 'all_tenants[]=1', 'all_tenants%5B%5D=1', 'all_projects=1',
  'all_projects=true', 'all+tenants=1', 'all_tenants', 'all_tenants=', '%61ll_tenants=1', 'all_tenants+=1', '+all_tenants=1',
  'all_tenants=yes', 'all_tenants=on', 'all_tenants=1%00', 'all%255Ftenants=1']
const ENTERPRISE_PARAMETERS = ['enterprise_project_id=ep-dev', 'enterprise_project_id=ep-prod', 'enterprise_project_id=all_granted_eps',
  'enterprise%5Fproject%5Fid=ep-prod', 'enterprise_project_id=ep%2Ddev', 'enterprise_project_id=', 'enterprise_project_id=0',
  'ENTERPRISE_PROJECT_ID=ep-prod', 'enterprise_project_id=ep-dev+', 'enterprise_project_id=%65p-prod']

/** One query parameter, in one of the spellings a backend may read. */
const parameter = fc.oneof(SHRINK,
  { arbitrary: fc.constantFrom(...PLAIN_PARAMETERS), weight: 4 },
  { arbitrary: fc.constantFrom(...METHOD_PARAMETERS), weight: 2 },
  { arbitrary: fc.constantFrom(...CROSS_PROJECT_PARAMETERS), weight: 3 },
  { arbitrary: fc.constantFrom(...ENTERPRISE_PARAMETERS), weight: 3 }
)
const joined = fc.array(fc.tuple(parameter, fc.constantFrom('&', '&', '&', ';', '&;', ';;')), { minLength: 1, maxLength: 4 })
const query = fc.oneof(SHRINK,
  { arbitrary: fc.constant(''), weight: 4 },
  {
    arbitrary: fc.tuple(fc.constantFrom('', '', '', '&', ';'), joined)
      .map(([start, pairs]) => `?${start}${pairs.map(([p, s], i) => i === 0 ? p : `${s}${p}`).join('')}`),
    weight: 6
  }
)

/** A target assembled from free parts: any version, project, collection and tail. */
const freeTarget = fc.tuple(method, lead, version, project, collection, tail, separator, suffix, query)
  .map(([m, l, v, p, c, rest, sep, suf, q]) => {
    const segments = [v, ...(p === '' ? [] : [p]), c, ...rest]
    return { method: m, target: `${l}/${segments.join(sep)}${suf}${q}` }
  })

/** A row of the table, filled in and then spelled in any of the ways above (most allows come from here). */
const otherMethod = mostly<string | undefined>(undefined, 6, 'GET', 'POST', 'HEAD', 'DELETE', 'PUT', 'get', 'FOO')
const rowTarget = fc.tuple(fc.constantFrom(...snapshotRoutes), otherMethod, lead, project, id, key, separator, suffix, query)
  .map(([row, other, l, p, i, k, sep, suf, q]) => {
    const values: Record<string, string> = { '{project_id}': p, '{snapshot_id}': i, '{key}': k }
    const segments = row.template.split('/').slice(1).map((segment) => values[segment] ?? segment).filter((segment) => segment !== '')
    return { method: other ?? row.method, target: `${l}/${segments.join(sep)}${suf}${q}` }
  })

/** Headers a client may add (the gateway keeps what stripIdentityHeaders keeps). */
const extraHeader = fc.constantFrom<readonly [string, string]>(
  ['X-HTTP-Method-Override', 'DELETE'], ['x-http-method-override', 'PUT'], ['X-Method-Override', 'DELETE'],
  ['X-HTTP-Method', 'DELETE'], ['X_HTTP_Method_Override', 'DELETE'], ['OpenStack-API-Version', 'volume 3.70'],
  ['OpenStack-API-Version', 'volume 3.0'], ['OpenStack-API-Version', 'volume latest'], ['OpenStack-API-Version', 'volume 3.67'],
  ['X-Roles', 'admin'], ['X-Project-Id', OTHER_PROJECT], ['X_Project_Id', OTHER_PROJECT], ['X-Auth-Project-Id', OTHER_PROJECT],
  ['X-Auth-Token', `mallory:${OTHER_PROJECT}`], ['X-Service-Roles', 'admin'], ['Accept', 'application/xml'], ['Expect', '100-continue'],
  ['X-Forwarded-Prefix', '/v3'], ['X-Original-URL', `/v3/${PROJECT}/snapshots/${SNAPSHOT}`]
)

const JSON_BODIES = [
  `{"snapshot": {"volume_id": "${VOLUME}", "name": "n"}}`, '{"snapshot": {"name": "renamed"}}', '{"os-force_delete": null}',
  '{"os-reset_status": {"status": "error"}}', '{"os-update_snapshot_status": {"status": "error"}}', '{"metadata": {"a": "b"}}',
  '{"meta": {"k1": "v"}}', `{"rollback": {"volume_id": "${VOLUME}"}}`, '{"_method": "DELETE"}', '{"a": 1, "b": 2}', 'not json'
]
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', undefined]
const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8',
  'APPLICATION/X-WWW-FORM-URLENCODED']
const FORM_BODIES = ['_method=DELETE', '_method=delete', 'a=1&_method=PUT', '%5Fmethod=DELETE', '_method=GET', 'a=1',
  '{"snapshot": {"name": "n"}}']
interface Body { readonly type: string | undefined, readonly text: string }
function typed (types: ReadonlyArray<string | undefined>, texts: readonly string[]): fc.Arbitrary<Body> {
  return fc.tuple(fc.constantFrom(...types), fc.constantFrom(...texts)).map(([type, text]) => ({ type, text }))
}
const body = fc.oneof(SHRINK,
  { arbitrary: fc.constant<Body>({ type: undefined, text: '' }), weight: 5 },
  { arbitrary: typed(JSON_TYPES, JSON_BODIES), weight: 4 },
  { arbitrary: typed(FORM_TYPES, FORM_BODIES), weight: 2 },
  {
    arbitrary: fc.constantFrom('_method', 'x').map((name): Body => ({
      type: 'multipart/form-data; boundary=b0undary',
      text: `--b0undary\r\nContent-Disposition: form-data; name="${name}"\r\n\r\nDELETE\r\n--b0undary--\r\n`
    })),
    weight: 1
  }
)

/** Now and then, hostile text inserted anywhere in the target: spellings no list above thought of. */
const NOISE = ['/', '//', '\\', '%2F', '%5C', ';', '.', '..', '%', '%25', '?', '??', '&', ';', '=', '+', '%00', '%2e', '%5F', '%20',
  '#', '@', ':', '_method=DELETE', 'all_tenants=1', 'enterprise_project_id=ep-prod', '%C0%AE', '%E2%80%AE', '%C5%BF']
const noise = fc.oneof(SHRINK,
  { arbitrary: fc.constant<Array<[number, string]>>([]), weight: 6 },
  { arbitrary: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NOISE)), { minLength: 1, maxLength: 2 }), weight: 1 }
)
function insert (text: string, [at, piece]: readonly [number, string]): string {
  const i = at % (text.length + 1)
  return `${text.slice(0, i)}${piece}${text.slice(i)}`
}
const target = fc.tuple(fc.oneof(SHRINK, { arbitrary: rowTarget, weight: 3 }, { arbitrary: freeTarget, weight: 2 }), noise)
  .map(([{ method: m, target: t }, inserts]) => ({ method: m, target: inserts.reduce(insert, t) }))

const extraHeaders = fc.uniqueArray(extraHeader, { maxLength: 2, selector: ([n]) => n.toLowerCase() })
export const rawRequest: fc.Arbitrary<RawRequest> = fc.tuple(target, extraHeaders, body)
  .map(([{ method: m, target: t }, extra, b]) => ({
    method: m,
    target: t,
    headers: [['Host', 'gateway.example'] as const, ...extra, ...(b.type === undefined ? [] : [['Content-Type', b.type] as const])],
    body: b.text
  }))
