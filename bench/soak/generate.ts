// Random inputs for the soak: personas (claims), request targets with hostile spellings, methods
// and headers. Seeded, so a failing run can be replayed with `npm run soak -- --seed=<n>`.
import { snapshotRoutes } from 'evs-authz'
import { OTHER_PROJECT, PROJECT, SNAPSHOT } from '../lib/fixtures.js'

/** mulberry32: small, fast, good enough for test inputs. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class Random {
  constructor (readonly next: () => number) {}
  int (n: number): number { return Math.floor(this.next() * n) }
  chance (p: number): boolean { return this.next() < p }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] as T }
  some<T> (items: readonly T[], max: number): T[] {
    const count = this.int(max + 1)
    return Array.from({ length: count }, () => this.pick(items))
  }
}

// ---------------------------------------------------------------- personas

const PATTERNS = [
  'evs:snapshots:get', 'evs:snapshots:list', 'evs:volumes:get', 'evs:snapshots:create', 'evs:snapshots:update',
  'evs:snapshots:delete', 'evs:snapshots:rollback', 'evs:snapshots:*', 'evs:*:get*', 'evs:*:list*', 'evs:*:*', 'evs:*',
  '*', 'evs:SNAPSHOTS:GET', 'EVS:snapshots:get', 'evs:snap*:*', 'evs:*:*ete', 'evs:*:g*t', 'ecs:*:*', '*:*:Get*',
  '*:*:List*', 'evs:snapshots:get?', 'evs:snapshots.x:get', 'evs:volumes:*', 'evs:*:*a*e*', 'identity:*', 'evs:snapshot:get'
]
const BAD_PATTERNS: readonly unknown[] = ['evs:snapshots', 'evs::get', 'evs:snapshots:get:more', '', 42, 'evs:snap shots:get',
  'evs:snapshots:get!']
// Names from claims are data: Object.prototype's own names must be unknown roles, operators and keys.
const PROTOTYPE_NAMES: readonly string[] = [...Object.getOwnPropertyNames(Object.prototype), '__proto__']
const ROLES: readonly unknown[] = [...PROTOTYPE_NAMES, 'te_admin', 'readonly', 'EVS FullAccess', 'EVS ReadOnlyAccess', 'server_adm',
  'Tenant Guest', 'Tenant Administrator', 'Server Administrator', 'unknown_role', 'TE_ADMIN', { name: 'te_admin' }, { name: 'readonly' }]
const BAD_ROLES: readonly unknown[] = [5, { id: 'te_admin' }, null]

const CONDITIONS: ReadonlyArray<Record<string, Record<string, unknown>>> = [
  { StringEquals: { 'g:UserName': ['alice'] } },
  { StringEquals: { 'g:UserName': 'alice' } },
  { StringNotEquals: { 'g:UserName': ['mallory'] } },
  { StringNotEqualsIfExists: { 'g:UserName': ['mallory'] } },
  { StringEqualsIgnoreCase: { 'g:username': ['ALICE'] } },
  { StringStartWith: { 'g:DomainName': ['corp'] } },
  { StringEndWith: { 'g:ProjectName': ['_prod'] } },
  { StringMatch: { 'g:UserName': ['al*'] } },
  { StringNotMatch: { 'g:UserName': ['*bot'] } },
  { Bool: { 'g:MFAPresent': ['true'] } },
  { BoolIfExists: { 'g:MFAPresent': [true] } },
  { DateLessThan: { 'g:CurrentTime': ['2099-01-01T00:00:00Z'] } },
  { DateGreaterThan: { 'g:CurrentTime': ['2099-01-01T00:00:00Z'] } },
  { DateGreaterThanEquals: { 'g:CurrentTime': ['2001-01-01T00:00:00Z'] } },
  { DateLessThan: { 'g:CurrentTime': ['not a date'] } },
  { NumericEquals: { 'g:UserName': ['1'] } },
  { StringEquals: { 'g:SourceIp': ['10.0.0.1'] } },
  { StringEquals: { 'g:UserId': [] } },
  { StringEquals: { 'g:UserId': ['u-alice'] }, Bool: { 'g:MFAPresent': ['false'] } },
  // Prototype names as operators and keys (own keys, as JSON.parse makes them), and an over-limit glob.
  ...PROTOTYPE_NAMES.map((name) => Object.defineProperty({}, name, { value: { 'g:UserName': ['alice'] }, enumerable: true })),
  ...PROTOTYPE_NAMES.map((name) => ({ StringEquals: Object.defineProperty({}, name, { value: ['alice'], enumerable: true }) })),
  { StringMatch: { 'g:UserName': [`${'*a'.repeat(33)}*`] } },
  { StringMatch: { 'g:UserName': ['*l*i*c*e*'] } }
]

function statement (r: Random): Record<string, unknown> {
  const s: Record<string, unknown> = { Effect: r.chance(0.25) ? 'Deny' : 'Allow' }
  const actions = [r.pick(PATTERNS), ...r.some(PATTERNS, 2)]
  s['Action'] = r.chance(0.15) ? actions[0] : actions
  if (r.chance(0.25)) s['Condition'] = r.pick(CONDITIONS)
  if (r.chance(0.1)) s['Resource'] = r.pick([['*'], '*', ['evs:*:*:snapshot:*'], ['*:*'], ['evs:*:*:snapshot:abc', '*']])
  if (r.chance(0.1)) s['Sid'] = 'sid1'
  if (r.chance(0.02)) {
    // Malformed: the whole grant must be refused.
    const bad = r.int(5)
    if (bad === 0) s['Effect'] = 'allow'
    else if (bad === 1) s['NotAction'] = ['evs:*:*']
    else if (bad === 2) s['Action'] = []
    else if (bad === 3) s['Action'] = [r.pick(BAD_PATTERNS)]
    else s['Condition'] = r.pick([['x'], { StringEquals: ['alice'] }, 'x'])
  }
  return s
}

function policy (r: Random): unknown {
  const doc: Record<string, unknown> =
    { Version: r.chance(0.5) ? '1.1' : '1.0', Statement: Array.from({ length: 1 + r.int(5) }, () => statement(r)) }
  if (r.chance(0.01)) doc['Version'] = r.pick(['2.0', 1.1, undefined])
  if (r.chance(0.005)) doc['Statement'] = { Effect: 'Allow', Action: ['*'] }
  return r.chance(0.003) ? 'not a policy' : doc
}

/** A random decoded token. */
export function persona (r: Random, index: number): unknown {
  const kind = r.next()
  if (kind < 0.02) return null
  if (kind < 0.03) return r.pick(['a string', 42, ['te_admin'], true])
  const c: Record<string, unknown> = {}
  const where = r.next()
  if (where < 0.7) c['project_id'] = PROJECT
  else if (where < 0.8) c['project_id'] = OTHER_PROJECT
  else if (where < 0.9) {
    c['token'] =
      {
        project: { id: PROJECT, name: r.pick(['evs_prod', 'evs_dev']) },
        user: { id: `u-${index}`, name: r.pick(['alice', 'mallory', 'deploy-bot']), domain: { name: r.pick(['corp-east', 'acme']) } }
      }
  } else if (where < 0.95) c['project'] = { id: PROJECT }
  if (r.chance(0.8)) c['sub'] = `u-${index}`
  if (r.chance(0.4)) c['user_name'] = r.pick(['alice', 'mallory', 'deploy-bot', 'Alice'])
  if (r.chance(0.2)) c['domain_name'] = r.pick(['corp-east', 'acme'])
  if (r.chance(0.2)) c['project_name'] = r.pick(['cn-north-4_prod', 'cn-north-4_dev'])
  if (r.chance(0.3)) c['mfa_present'] = r.chance(0.5)
  const grant = r.next()
  if (grant < 0.45 || grant >= 0.9) {
    const list: unknown[] = Array.from({ length: r.int(5) }, () => r.pick(PATTERNS))
    if (r.chance(0.02)) list.push(r.pick(BAD_PATTERNS))
    c['actions'] = r.chance(0.01) ? 'evs:snapshots:get' : list
  }
  if ((grant >= 0.45 && grant < 0.7) || grant >= 0.95) {
    const roles: unknown[] = r.some(ROLES, 2)
    if (r.chance(0.02)) roles.push(r.pick(BAD_ROLES))
    c['roles'] = r.chance(0.01) ? 'te_admin' : roles
  }
  if (grant >= 0.7 && grant < 0.9) {
    c['policies'] = r.chance(0.005) ? { Version: '1.1' } : Array.from({ length: 1 + r.int(3) }, () => policy(r))
  }
  if (r.chance(0.05)) {
    const token = (c['token'] ?? {}) as Record<string, unknown>
    token['roles'] = r.chance(0.9) ? [{ name: r.pick(['te_admin', 'readonly', 'EVS ReadOnlyAccess', 'nobody']) }] : [{ id: 1 }]
    c['token'] = token
  }
  return c
}

// ---------------------------------------------------------------- request targets

/** Shapes no row has. */
const OTHER_TEMPLATES: readonly string[] = [
  '/v2/{project_id}/volumes/{snapshot_id}', '/v2/{project_id}/snapshots/{snapshot_id}/action', '/v3/{project_id}/cloudsnapshots/detail',
  '/v2/{project_id}/backups', '/v3/{project_id}/cloudsnapshots/{snapshot_id}', '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}/x',
  '/v2/{project_id}/os-vendor-snapshots/{snapshot_id}', '/v2/{project_id}', '/v2', '/v3/{project_id}/snapshots/detail/{key}'
]

const SNAPSHOT_IDS = [SNAPSHOT, SNAPSHOT, SNAPSHOT, 'abc_DEF-1', 'detail', 'DETAIL', 'Detail', 'metadata', 'rollback', 'ROLLBACK',
  'snapshots',
  'a.json', 'x'.repeat(256), 'y'.repeat(255), 'a%20b', '%C3%A9', 'a%2Fb', 'a%5Cb', '%2e%2e', '.', '..', 'a%3Bb', 'a;b', '%64etail',
  'a%21', 'a!b', 'DeTaIl']
const PROJECTS = [PROJECT, PROJECT, PROJECT, PROJECT, OTHER_PROJECT, 'ABCDEF0123', '0123-abcd', 'p',
  '%30123456789abcdef0123456789abcdef', `${PROJECT}.json`, 'a'.repeat(256)]
const KEYS = ['env', 'my%20key', 'a:b', 'a.b', 'K-1_x', '..', 'k'.repeat(256), '%F0%9F%98%80', 'a%2Fb', 'a%3Ab', 'a b', '%7e', 'e%6Ev']

/** Mostly well-formed values (so that grants get exercised), else a value from the hostile lists. */
function fillTemplate (r: Random, template: string): string {
  return template.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    if (name === 'project_id') return r.chance(0.8) ? PROJECT : r.pick(PROJECTS)
    if (name === 'key') return r.chance(0.6) ? 'env' : r.pick(KEYS)
    return r.chance(0.6) ? SNAPSHOT : r.pick(SNAPSHOT_IDS)
  })
}

/** Percent-encodes one character of a segment (the spelling a backend decodes back). */
function encodeChar (ch: string, r: Random): string {
  const hex = (ch.codePointAt(0) as number).toString(16).padStart(2, '0')
  return `%${r.chance(0.5) ? hex.toUpperCase() : hex}`
}

const DOTS = ['.', '..', '%2e', '%2E%2E', '.%2e', '%2e.', '%c0%ae', '%c0%ae%c0%ae', '%e0%80%ae', '%C0%AE.', '..;', '.. ']
const SLASHES = ['%2F', '%2f', '\\', '%5C', '%5c', '//', '/./', '%c0%af', '%e0%80%af', '%25%32%66']

function mutate (r: Random, path: string): string {
  const segments = path.split('/')
  const at = 1 + r.int(Math.max(1, segments.length - 1))
  switch (r.int(17)) {
    case 0: { // a slash spelled otherwise
      const slash = path.lastIndexOf('/')
      return slash <= 0 ? path : `${path.slice(0, slash)}${r.pick(SLASHES)}${path.slice(slash + 1)}`
    }
    case 1: // a dot segment somewhere
      segments.splice(at, 0, r.pick(DOTS))
      return segments.join('/')
    case 2: // a segment in another case
      segments[at] = r.chance(0.5) ? (segments[at] ?? '').toUpperCase() : (segments[at] ?? '').replace(/^./, (c) => c.toUpperCase())
      return segments.join('/')
    case 3: { // an encoded letter
      const s = segments[at] ?? ''
      const i = r.int(Math.max(1, s.length))
      if (!/[A-Za-z0-9._~-]/.test(s[i] ?? '')) return path
      segments[at] = `${s.slice(0, i)}${encodeChar(s[i] as string, r)}${s.slice(i + 1)}`
      return segments.join('/')
    }
    case 4: // .json suffix
      segments[at] = `${segments[at] ?? ''}${r.pick(['.json', '.JSON', '.xml', '%2ejson'])}`
      return segments.join('/')
    case 5: // trailing or doubled slash
      return r.chance(0.5) ? `${path}/` : path.replace(/\/(?=[^/]*$)/, '//')
    case 6: // path parameters
      segments[at] = `${segments[at] ?? ''}${r.pick([';jsessionid=1', '%3Bx', ';'])}`
      return segments.join('/')
    case 7: // control and other invalid characters
      segments[at] = `${segments[at] ?? ''}${r.pick([
        '%00', '%0a', '%0D', '%7f', '%C2%85', '\t', '\u0000', 'é', '%', '%zz', '%C3', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%80', ' ',
        '"', '<', '|', '^', '`', '{', '[', '%25', '%C2%A0', '%E2%80%8B'
      ])}`
      return segments.join('/')
    case 8: // version spelled otherwise
      return path.replace(/^\/v([23])/,
        (_, n: string) => r.pick([`/V${n}`, `/%76${n}`, `/v%3${n}`, `/%56%3${n}`, `/v${n}.0`, `/v0${n}`, `/vv${n}`, `/v${n}%2F`]))
    case 9: // something in front
      return `${r.pick([
        '/foo/..', '/.', '//', '/%2e%2e', '/x/%2e%2e', '/a/b/../..', '/..', '/%c0%ae%c0%ae', '/evs', '/api/..%2F', '\\..'
      ])}${path}`
    case 10: // query and fragment
      return `${path}${r.pick([
        '?a=b', '?x=/../v2/', '?%2F', '#frag', '?#', '?enterprise_project_id=all_granted_eps', '?', '?limit=10&offset=0', '#/../x',
        '?all_tenants=1', '?all_projects=true&limit=5', '?ALL_TENANTS=1', '?all%5Ftenants=1', '?_method=DELETE', '?x=1;_method=delete',
        '?%5Fmethod=GET', '?limit=5;all_tenants=1', '?name=%ff', '?enterprise_project_id=a&enterprise_project_id=b',
        '?constructor=1&__proto__=x'
      ])}`
    case 11: // not origin-form
      return r.pick([`http://evil.example${path}`, `HTTPS://h${path}`, path.slice(1), `//evil${path}`, '*', `http:\\\\h${path}`,
        'http://h/health',
        `/\\127.0.0.1:1${path}`, `//u@h:1${path}`, '//evil/health'])
    case 12: // outside the guarded space
      return r.pick(['/health', '/v1/' + PROJECT + '/snapshots', '/api/v2x', '/metrics?v2', '/', '/v4/x', '/version',
        '/foo/v2/snapshots', '/v23/x', '/vv2', '/%7e/x', '/x%2Fv2'])
    case 13: // a whole segment encoded
      segments[at] = [...(segments[at] ?? '')].map((c) => encodeChar(c, r)).join('')
      return segments.join('/')
    case 14: // overlong and doubly encoded letters and slashes
      segments[at] = `${segments[at] ?? ''}${r.pick(['%c1%b3', '%e0%81%b3', '%2541', '%252e', '%u002e', '%c0%2e'])}`
      return segments.join('/')
    case 15: // traversal after a version that is not the first segment
      return `/${r.pick(['x', 'evs', 'api', '%2e', 'a;b', 'V2'])}${path}/` +
        `${r.pick(['..', '%2e%2e', '.%2E', '..%2f..', '%c0%ae%c0%ae'])}${r.pick(['', '/x', '?q=1'])}`
    default:
      return path
  }
}

const METHODS = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'PUT', 'DELETE', 'DELETE', 'PATCH', 'OPTIONS']

export interface SoakRequest {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

export function request (r: Random): SoakRequest {
  // Mostly a row of the table with its own method, so that grants decide; else anything.
  const row = r.chance(0.85) ? r.pick(snapshotRoutes) : undefined
  let url = fillTemplate(r, row === undefined ? r.pick(OTHER_TEMPLATES) : row.template)
  const mutations = r.chance(0.55) ? 0 : 1 + r.int(2)
  for (let i = 0; i < mutations; i++) url = mutate(r, url)
  const headers: Record<string, string> = { host: '127.0.0.1', accept: 'application/json' }
  if (r.chance(0.03)) {
    headers[r.pick(['X-HTTP-Method-Override', 'x-http-method', 'X-Method-Override', 'x-method-override'])] = r.pick(['GET', 'DELETE'])
  }
  if (r.chance(0.03)) {
    headers['content-type'] =
      r.pick(['application/json', 'application/x-www-form-urlencoded', 'Multipart/Form-Data; boundary=x', 'text/plain'])
  }
  if (r.chance(0.02)) headers['x-http-method-overrides'] = 'GET'
  return {
    method: row !== undefined && r.chance(0.75)
      ? (row.method === 'GET' && r.chance(0.1) ? 'HEAD' : row.method)
      : r.pick(METHODS),
    url,
    headers
  }
}
