// A slow, deliberately plain reference evaluator for the soak test, written from the README
// ("How a request is judged", "Threat model") and docs/threat-model.md rather than from src: its own path-canonicality check, its own
// lenient reading of a path,
// a linear scan of per-route regular expressions, and its own IAM policy evaluation over the raw
// claims (nothing compiled, nothing cached). It covers the default options (prefix '', unmatched
// 'deny') and claims without enterprise-project grants. Names from claims are looked up as own entries
// only (Object.hasOwn): an operator such as `constructor` is unknown, not Object.prototype's function.

export interface RefRoute {
  readonly method: string
  readonly template: string
  readonly actions: readonly string[]
}

export interface RefDecision {
  readonly outcome: 'outside' | 'allow' | 'deny'
  readonly status?: number
  readonly reason?: string
  /** Template of the matched row, when the decision names one. */
  readonly template?: string
  /** Required actions that were not allowed, in table order. */
  readonly missing?: readonly string[]
}

const PROJECT_ID = /^[0-9a-f-]+$/
const ID = /^[A-Za-z0-9_-]+$/
const META_KEY = /^[A-Za-z0-9_:. -]+$/
// Cinder reads a trailing .json / .xml as a format suffix, so such keys are refused.
const FORMAT_SUFFIX = /\.(json|xml)$/i
const MAX_PARAM = 255

// ---------------------------------------------------------------- lenient reading of a path

/**
 * One decoding pass as a lax server does it: every %XX (and %uXXXX) becomes its byte (a Latin-1
 * character), then every run of bytes that spells UTF-8 (overlong forms included) becomes the character,
 * wherever the bytes came from (this pass or an earlier one); stray bytes stay Latin-1 characters.
 */
function laxDecode (text: string): string {
  const bytes = text.replace(/%u([0-9A-Fa-f]{4})|%([0-9A-Fa-f]{2})/g, (_, u: string | undefined, h: string | undefined) =>
    String.fromCharCode(parseInt(u ?? h ?? '0', 16)))
  return bytes.replace(/[\xc0-\xf7][\x80-\xbf]{1,3}/g, (run) => {
    const lead = run.charCodeAt(0)
    const extra = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1
    if (run.length < extra + 1) return run
    let cp = lead & [0, 0x1f, 0x0f, 0x07][extra] as number
    for (let k = 1; k <= extra; k++) cp = cp * 64 + (run.charCodeAt(k) & 0x3f)
    const decoded = cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp)
    return decoded + run.slice(extra + 1)
  })
}

/** The segments a lenient backend might see: decoded (three times), `\` as `/`, `;params` cut, case folded. */
function lenientSegments (path: string): string[] {
  let text = path
  for (let n = 0; n < 3; n++) text = laxDecode(text)
  return text.replace(/\\/g, '/').split('/')
    .map((s) => (s.split(';')[0] ?? '').trim().normalize('NFKC').toUpperCase().toLowerCase())
    .filter((s) => s !== '' && s !== '.')
}

const isVersion = (s: string | undefined): boolean => s === 'v2' || s === 'v3'

/** Whether some reading of the target reaches /v2 or /v3 (the guarded space). */
function reachesApi (pathBeforeQuery: string): boolean {
  const segments = lenientSegments(pathBeforeQuery)
  const resolved: string[] = []
  for (const s of segments) {
    if (s === '..') resolved.pop()
    else resolved.push(s)
  }
  if (isVersion(resolved[0])) return true
  if (isVersion(segments.filter((s) => s !== '..')[0])) return true
  return segments.includes('..') && segments.some(isVersion)
}

// ---------------------------------------------------------------- the query, as webob reads it

/**
 * Parameter names of a query (split on & and ;, + as space, %XX as bytes, strict UTF-8); undefined when a
 * name or value does not decode. The target is Latin-1 text as a WSGI server passes it (a character is a
 * byte); characters above U+00FF (only from direct API callers) count as their UTF-8 bytes.
 */
function queryNames (query: string): string[] | undefined {
  const decode = (raw: string): string | undefined => {
    const bytes: number[] = []
    for (let i = 0; i < raw.length; i++) {
      const hex = raw.slice(i + 1, i + 3)
      if (raw[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16))
        i += 2
      } else if (raw.charCodeAt(i) > 0xff) {
        bytes.push(...Buffer.from(raw[i] ?? '', 'utf8'))
      } else {
        bytes.push(raw[i] === '+' ? 0x20 : raw.charCodeAt(i))
      }
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes))
    } catch {
      return undefined
    }
  }
  const names: string[] = []
  for (const pair of query.split(/[&;]/)) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decode(eq === -1 ? pair : pair.slice(0, eq))
    if (name === undefined || decode(eq === -1 ? '' : pair.slice(eq + 1)) === undefined) return undefined
    names.push(name)
  }
  return names
}

// ---------------------------------------------------------------- canonical spelling

const RAW_OK = /^[A-Za-z0-9\-._~!$&'()*+,=:@]$/
const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/** True when the path (no query) is in the one canonical spelling every backend reads alike. */
function isCanonical (path: string): boolean {
  if (!path.startsWith('/')) return false
  for (const segment of path.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return false
    let i = 0
    while (i < segment.length) {
      const c = segment[i] as string
      if (c !== '%') {
        if (!RAW_OK.test(c)) return false
        i++
        continue
      }
      // A run of escapes must be valid UTF-8, and no escape may stand for a character that has a
      // plain spelling (unreserved), or for / \ ; % or a control character.
      let j = i
      const bytes: number[] = []
      while (j < segment.length && segment[j] === '%') {
        const hex = segment.slice(j + 1, j + 3)
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return false
        bytes.push(parseInt(hex, 16))
        j += 3
      }
      let decoded: string
      try {
        decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes))
      } catch {
        return false
      }
      for (const ch of decoded) {
        const cp = ch.codePointAt(0) as number
        if (UNRESERVED.test(ch) || ch === '/' || ch === '\\' || ch === ';' || ch === '%') return false
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return false
      }
      i = j
    }
  }
  return true
}

// ---------------------------------------------------------------- matching

function constraintOf (name: string): { test: (value: string) => boolean } {
  if (name === 'key') return { test: (value) => META_KEY.test(value) && !FORMAT_SUFFIX.test(value) }
  return name === 'project_id' ? PROJECT_ID : ID
}

interface Shape { readonly route: RefRoute, readonly parts: ReadonlyArray<{ static: string } | { param: string }> }

type RefMatch =
  | { kind: 'matched', route: RefRoute, project: string | undefined }
  | { kind: 'no-method' }
  | { kind: 'no-route' }
  | { kind: 'ambiguous' }

/**
 * Walks the table position by position: a literal segment wins over a parameter (no backtracking);
 * a parameter must satisfy its constraint, and may not spell a sibling literal in another case.
 */
function matchRoute (shapes: readonly Shape[], method: string, path: string): RefMatch {
  const segments = path.slice(1).split('/')
  let alive = [...shapes]
  let project: string | undefined
  for (let depth = 0; depth < segments.length; depth++) {
    const raw = segments[depth] as string
    const here = alive.filter((s) => s.parts.length > depth)
    const literal = here.filter((s) => { const p = s.parts[depth]; return p !== undefined && 'static' in p && p.static === raw })
    if (literal.length > 0) {
      alive = literal
      continue
    }
    const params = here.filter((s) => { const p = s.parts[depth]; return p !== undefined && 'param' in p })
    if (params.length === 0) return { kind: 'no-route' }
    const name = (params[0]?.parts[depth] as { param: string }).param
    const value = decodeURIComponent(raw)
    if (value.length > MAX_PARAM || !constraintOf(name).test(value)) return { kind: 'no-route' }
    const siblings =
      here.flatMap((s) => { const p = s.parts[depth]; return p !== undefined && 'static' in p ? [p.static.toLowerCase()] : [] })
    if (siblings.includes(value.toLowerCase())) return { kind: 'ambiguous' }
    if (name === 'project_id') project = value
    alive = params
  }
  const ending = alive.filter((s) => s.parts.length === segments.length)
  if (ending.length === 0) return { kind: 'no-route' }
  const wanted = method === 'HEAD' ? 'GET' : method
  const hit = ending.find((s) => s.route.method === wanted)
  return hit === undefined ? { kind: 'no-method' } : { kind: 'matched', route: hit.route, project }
}

// ---------------------------------------------------------------- grants

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

interface RefStatement {
  readonly effect: 'Allow' | 'Deny'
  readonly patterns: readonly string[]
  readonly resource: unknown
  readonly condition: unknown
}

const CATALOGUE: Readonly<Record<string, ReadonlyArray<[RefStatement['effect'], string[]]>>> = {
  'Tenant Administrator': [['Allow', ['*']], ['Deny', ['identity:*']]],
  te_admin: [['Allow', ['*']], ['Deny', ['identity:*']]],
  'Tenant Guest': [['Allow', ['*:*:Get*', '*:*:List*']], ['Deny', ['identity:*']]],
  readonly: [['Allow', ['*:*:Get*', '*:*:List*']], ['Deny', ['identity:*']]],
  'EVS FullAccess': [['Allow', ['evs:*:*']]],
  'EVS ReadOnlyAccess': [['Allow', ['evs:*:get*', 'evs:*:list*']]],
  'Server Administrator': [['Allow', ['ecs:*:*', 'evs:*:*', 'vpc:*:*', 'ims:*:*']]],
  server_adm: [['Allow', ['ecs:*:*', 'evs:*:*', 'vpc:*:*', 'ims:*:*']]]
}

function validPattern (p: unknown): boolean {
  if (typeof p !== 'string') return false
  if (p === '*') return true
  const parts = p.split(':')
  if (parts.length > 3 || !parts.every((s) => /^[A-Za-z0-9_*.?-]+$/.test(s))) return false
  return parts.length === 3 || parts[parts.length - 1] === '*'
}

function validStatement (s: unknown): boolean {
  if (!isObject(s)) return false
  if (!Object.keys(s).every((k) => ['Effect', 'Action', 'Condition', 'Resource', 'Sid'].includes(k))) return false
  if (s['Effect'] !== 'Allow' && s['Effect'] !== 'Deny') return false
  const action = typeof s['Action'] === 'string' ? [s['Action']] : s['Action']
  if (!Array.isArray(action) || action.length === 0 || !action.every(validPattern)) return false
  const resource = typeof s['Resource'] === 'string' ? [s['Resource']] : s['Resource']
  if (resource !== undefined && (!Array.isArray(resource) || resource.length === 0 || !resource.every((r) => typeof r === 'string'))) {
    return false
  }
  const condition = s['Condition']
  if (condition !== undefined && (!isObject(condition) || !Object.values(condition).every(isObject))) return false
  return true
}

function validPolicy (p: unknown): boolean {
  return isObject(p) && (p['Version'] === '1.1' || p['Version'] === '1.0') && Array.isArray(p['Statement']) &&
    p['Statement'].every(validStatement)
}

function roleName (role: unknown): string | undefined {
  if (typeof role === 'string') return role
  return isObject(role) && typeof role['name'] === 'string' ? role['name'] : undefined
}

interface RefGrant {
  readonly statements: readonly RefStatement[]
  readonly project: string | undefined
  readonly values: ReadonlyMap<string, string | boolean>
}

type GrantOutcome = { ok: true, grant: RefGrant } | { ok: false, reason: 'no-credentials' | 'invalid-grants' }

const firstString = (...values: unknown[]): string | undefined => values.find((v): v is string => typeof v === 'string' && v !== '')

function readClaims (claims: unknown): GrantOutcome {
  if (claims === null || claims === undefined) return { ok: false, reason: 'no-credentials' }
  if (!isObject(claims)) return { ok: false, reason: 'invalid-grants' }
  const statements: RefStatement[] = []
  const actions = claims['actions']
  if (actions !== undefined) {
    if (!Array.isArray(actions) || !actions.every(validPattern)) return { ok: false, reason: 'invalid-grants' }
    if (actions.length > 0) statements.push({ effect: 'Allow', patterns: actions as string[], resource: undefined, condition: undefined })
  }
  const policies = claims['policies']
  if (policies !== undefined) {
    if (!Array.isArray(policies) || !policies.every(validPolicy)) return { ok: false, reason: 'invalid-grants' }
    for (const policy of policies as Json[]) {
      for (const s of policy['Statement'] as Json[]) {
        statements.push({
          effect: s['Effect'] as RefStatement['effect'],
          patterns: typeof s['Action'] === 'string' ? [s['Action']] : s['Action'] as string[],
          resource: s['Resource'],
          condition: s['Condition']
        })
      }
    }
  }
  const token = isObject(claims['token']) ? claims['token'] : undefined
  for (const list of [claims['roles'], token?.['roles']]) {
    if (list === undefined) continue
    if (!Array.isArray(list)) return { ok: false, reason: 'invalid-grants' }
    for (const role of list) {
      const name = roleName(role)
      if (name === undefined) return { ok: false, reason: 'invalid-grants' }
      const granted = Object.hasOwn(CATALOGUE, name) ? CATALOGUE[name] : undefined
      for (const [effect, patterns] of granted ?? []) statements.push({ effect, patterns, resource: undefined, condition: undefined })
    }
  }
  const tokenUser = isObject(token?.['user']) ? token['user'] as Json : undefined
  const tokenProject = isObject(token?.['project']) ? token['project'] as Json : undefined
  const values = new Map<string, string | boolean>()
  const put = (key: string, value: string | undefined): void => { if (value !== undefined) values.set(key, value) }
  put('g:userid',
    firstString(claims['sub'], claims['user_id'], tokenUser?.['id'], isObject(claims['user']) ? claims['user']['id'] : undefined))
  put('g:username', firstString(tokenUser?.['name'], claims['user_name'], claims['preferred_username']))
  put('g:domainname',
    firstString(isObject(tokenUser?.['domain']) ? (tokenUser['domain'] as Json)['name'] : undefined, claims['domain_name']))
  put('g:projectname', firstString(tokenProject?.['name'], claims['project_name']))
  if (typeof claims['mfa_present'] === 'boolean') values.set('g:mfapresent', claims['mfa_present'])
  const project = firstString(claims['project_id'], tokenProject?.['id'], isObject(claims['project']) ? claims['project']['id'] : undefined)
  return { ok: true, grant: { statements, project, values } }
}

// ---------------------------------------------------------------- evaluation

/** README "Threat model": at most 32 `*` and 1024 characters per glob. */
function withinGlobLimits (glob: string): boolean {
  return glob.length <= 1024 && glob.split('*').length - 1 <= 32
}

function globToRegex (glob: string, caseless: boolean): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${body}$`, caseless ? 'i' : '')
}

function patternMatches (pattern: string, action: string): boolean {
  if (pattern === '*') return true
  const parts = pattern.split(':')
  while (parts.length < 3) parts.push('*')
  const [service, resource, operation] = action.split(':') as [string, string, string]
  return globToRegex(parts[0] as string, false).test(service) &&
    globToRegex(parts[1] as string, true).test(resource) &&
    globToRegex(parts[2] as string, true).test(operation)
}

type Verdict = 'yes' | 'no' | 'unknown' | 'missing'

/** One condition key test: 'unknown' when evs-authz cannot evaluate it, 'missing' when the token lacks the key. */
function testCondition (operator: string, key: string, raw: unknown, values: ReadonlyMap<string, string | boolean>, now: number): Verdict {
  const expected = Array.isArray(raw) ? raw : [raw]
  const known = ['g:userid', 'g:username', 'g:domainname', 'g:projectname', 'g:mfapresent', 'g:currenttime']
  if (!known.includes(key) || expected.length === 0) return 'unknown'
  const ifExists = operator.endsWith('IfExists')
  const op = ifExists ? operator.slice(0, -8) : operator
  if (key === 'g:currenttime') {
    const times = expected.map((v) => typeof v === 'string' ? Date.parse(v) : NaN)
    if (times.some(Number.isNaN)) return 'unknown'
    const cmp: Record<string, (t: number) => boolean> = {
      DateLessThan: (t) => now < t,
      DateLessThanEquals: (t) => now <= t,
      DateGreaterThan: (t) => now > t,
      DateGreaterThanEquals: (t) =>
        now >= t
    }
    const f = Object.hasOwn(cmp, op) ? cmp[op] : undefined
    if (f === undefined) return 'unknown'
    return times.some(f) ? 'yes' : 'no'
  }
  const negated = op.startsWith('StringNot')
  const base = negated ? `String${op.slice('StringNot'.length)}` : op
  const tests: Record<string, (actual: string | boolean, e: unknown) => boolean> = {
    StringEquals: (a, e) => typeof a === 'string' && a === e,
    StringEqualsIgnoreCase: (a, e) => typeof a === 'string' && typeof e === 'string' && a.toLowerCase() === e.toLowerCase(),
    StringStartWith: (a, e) => typeof a === 'string' && typeof e === 'string' && a.startsWith(e),
    StringEndWith: (a, e) => typeof a === 'string' && typeof e === 'string' && a.endsWith(e),
    StringMatch: (a, e) => typeof a === 'string' && typeof e === 'string' && globToRegex(e, false).test(a),
    Bool: (a, e) => typeof a === 'boolean' && (e === a || e === String(a))
  }
  const test = Object.hasOwn(tests, base) ? tests[base] : undefined
  if (test === undefined) return 'unknown'
  if (base === 'StringMatch' && !expected.every((e) => typeof e === 'string' && withinGlobLimits(e))) return 'unknown'
  const actual = values.get(key)
  if (actual === undefined) return ifExists ? 'yes' : 'missing'
  const any = expected.some((e) => test(actual, e))
  return (negated ? !any : any) ? 'yes' : 'no'
}

/** Whether a statement takes part for this action: Allows only when certain, Denies unless certainly not. */
function applies (s: RefStatement, action: string, values: ReadonlyMap<string, string | boolean>, now: number): boolean {
  if (!s.patterns.some((p) => patternMatches(p, action))) return false
  const allow = s.effect === 'Allow'
  // A pattern over the documented glob limits is not evaluated: the statement is uncertain.
  if (!s.patterns.every(withinGlobLimits)) return !allow
  const resources = s.resource === undefined ? ['*'] : typeof s.resource === 'string' ? [s.resource] : s.resource as string[]
  const everything = resources.some((r) => /^\*+(:\*+)*$/.test(r))
  const verdicts: Verdict[] = []
  for (const [operator, entries] of Object.entries((s.condition ?? {}) as Record<string, Json>)) {
    for (const [key, raw] of Object.entries(entries)) verdicts.push(testCondition(operator, key.toLowerCase(), raw, values, now))
  }
  if (!everything || verdicts.includes('unknown')) return !allow
  if (verdicts.includes('no')) return false
  if (verdicts.includes('missing')) return !allow
  return true
}

function effect (grant: RefGrant, action: string, now: number): 'allow' | 'deny' | 'none' {
  const live = grant.statements.filter((s) => applies(s, action, grant.values, now))
  if (live.some((s) => s.effect === 'Deny')) return 'deny'
  return live.some((s) => s.effect === 'Allow') ? 'allow' : 'none'
}

// ---------------------------------------------------------------- the whole decision

export interface ReferenceRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

export class ReferenceEvaluator {
  private readonly shapes: Shape[]
  constructor (routes: readonly RefRoute[], private readonly now: () => number = Date.now) {
    this.shapes = routes.map((route) => ({
      route,
      parts: route.template.slice(1).split('/').map((p) => /^\{.+\}$/.test(p) ? { param: p.slice(1, -1) } : { static: p })
    }))
  }

  decide (request: ReferenceRequest, claims: unknown): RefDecision {
    const { method, url } = request
    const bad: RefDecision = { outcome: 'deny', status: 400, reason: 'malformed-path' }
    // README "Threat model": a path past 256 characters that does not plainly start with /v2 or /v3 but
    // mentions a version, an escape or a backslash is refused before the loose reading.
    const beforeQuery = url.split(/[?#]/)[0] ?? ''
    if (beforeQuery.length > 256 && !/^\/[vV][23](\/|$)/.test(beforeQuery) && /v2|v3|%|\\/i.test(beforeQuery)) return bad
    if (!url.startsWith('/')) {
      const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:[\\/]{2}[^/\\?#]*/.exec(url)
      const rest = (absolute === null ? `/${url}` : url.slice(absolute[0].length)).split('?')[0] ?? ''
      return lenientSegments(rest).some(isVersion) ? bad : { outcome: 'outside' }
    }
    const path = url.split(/[?#]/)[0] ?? ''
    const plainlyGuarded = /^\/[vV][23](\/|$)/.test(path)
    if (!plainlyGuarded && !reachesApi(url.split('?')[0] ?? '')) {
      // `//host/...`, `/\\host/...`: a URL-resolving forwarder takes the first segment for a host.
      return /^[/\\]{2}/.test(url) && lenientSegments(path).some(isVersion) ? bad : { outcome: 'outside' }
    }
    if (url.includes('#') || !isCanonical(path)) return bad
    const rawQuery = url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''
    const names = queryNames(rawQuery)
    if (names === undefined) return { outcome: 'deny', status: 400, reason: 'malformed-query' }
    const overrideHeader =
      Object.keys(request.headers).some((h) => ['x-http-method-override', 'x-http-method', 'x-method-override'].includes(h.toLowerCase()))
    // Routes' method override: the raw query mentions `_method`; stricter: any spelling of the name.
    if (overrideHeader || rawQuery.includes('_method') || names.some((n) => n.trim().toLowerCase().split('[')[0] === '_method')) {
      return { outcome: 'deny', status: 400, reason: 'method-override' }
    }
    const contentType =
      Object.entries(request.headers).find(([h]) => h.toLowerCase() === 'content-type')?.[1]?.split(';')[0]?.trim().toLowerCase()
    if (contentType !== undefined && (contentType === 'application/x-www-form-urlencoded' || contentType.startsWith('multipart/'))) {
      return { outcome: 'deny', status: 400, reason: 'malformed-body' }
    }
    const match = matchRoute(this.shapes, method, path)
    if (match.kind === 'ambiguous') return bad
    const granted = readClaims(claims)
    const template = match.kind === 'matched' ? match.route.template : undefined
    if (!granted.ok) {
      return {
        outcome: 'deny',
        status: granted.reason === 'no-credentials'
          ? 401
          : 403,
        reason: granted.reason,
        ...(template === undefined ? {} : { template })
      }
    }
    if (match.kind === 'no-route') return { outcome: 'deny', status: 403, reason: 'route-not-found' }
    if (match.kind === 'no-method') return { outcome: 'deny', status: 403, reason: 'method-not-allowed' }
    const grant = granted.grant
    if (match.project !== undefined && match.project !== grant.project) {
      return { outcome: 'deny', status: 403, reason: 'project-mismatch', template: match.route.template }
    }
    const now = this.now()
    const effects = match.route.actions.map((action) => [action, effect(grant, action, now)] as const)
    const missing = effects.filter(([, e]) => e !== 'allow').map(([a]) => a)
    if (missing.length === 0) return { outcome: 'allow', reason: 'granted', template: match.route.template }
    const reason = effects.some(([, e]) => e === 'deny') ? 'explicit-deny' : 'missing-action'
    return { outcome: 'deny', status: 403, reason, template: match.route.template, missing }
  }
}
