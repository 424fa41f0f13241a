// The differential test's model, shared by the run against the oracle (cinder-router.diff.ts) and by the
// Cinder-free replay of recorded disagreements (test/differential-regressions.test.ts): personas, option
// sets, what a gateway forwards, the map from evs-authz's table rows to the Cinder controller methods that
// implement them, and the judge that compares an evs-authz allow with what Cinder's own code would run.
import { createAuthorizer, type AllowDecision, type Authorizer, type AuthorizerOptions, type Decision } from '../../src/index.js'
import { isClientIdentityHeader } from '../../src/forwarding.js'

export const PROJECT = '0123456789abcdef0123456789abcdef'
export const OTHER_PROJECT = 'fedcba9876543210fedcba9876543210'
export const EP_GRANTED = 'ep-dev'

// ---------------------------------------------------------------------------------------------
// What the oracle answers (scripts/cinder/oracle.py)

export interface ParamFacts {
  /** Every value webob's req.GET holds for the name (getall). */
  readonly all: readonly string[]
  /** What req.GET.get(name) returns: the last value. */
  readonly get: string | null
  /** The raw query segments webob reads as this name. */
  readonly raw: readonly string[]
}

export interface QueryFacts {
  readonly keys?: readonly string[]
  readonly all_tenants?: ParamFacts
  readonly all_projects?: ParamFacts
  readonly enterprise_project_id?: ParamFacts
  readonly _method?: ParamFacts
  readonly error?: string
}

export interface Dispatch {
  /** The controller class of the wsgi.Resource the route names. */
  readonly resource: string
  /** The class whose method runs (an extension controller for POST .../action). */
  readonly controller: string
  /** The routing action (`show`, `action`, ...). */
  readonly action: string | null
  /** The controller method Cinder would call. */
  readonly method: string
  /** Routing arguments: project_id, id, snapshot_id, format, ... */
  readonly args: Readonly<Record<string, unknown>>
  readonly body_keys: readonly string[] | null
  readonly route: { readonly path: string | null, readonly methods: readonly string[] | null }
  readonly request_method: string
  readonly api_version: string
  readonly context: { readonly project_id: string, readonly user_id: string, readonly is_admin: boolean } | null
  readonly query: QueryFacts
  /** Snapshot lists only: how far Cinder's own list code got, and which projects it would list. */
  readonly list: {
    readonly outcome: 'listed' | 'returned' | 'error'
    readonly scope?: 'all-projects' | 'project'
    readonly project_id?: string | null
    readonly error?: string
  } | null
  readonly version_mismatch?: boolean
}

export interface OracleAnswer {
  /** The status Cinder's pipeline answered (200 when the recorder took the dispatch). */
  readonly status: number
  readonly dispatched: Dispatch | null
  /** A dispatch Cinder then refused (no method for the microversion). */
  readonly refused: Dispatch | null
  /** webob's reading of the query as the request entered the pipeline (null: refused by the server). */
  readonly query: QueryFacts | null
  readonly environ: Readonly<Record<string, unknown>> | null
  /** The server's own status line when it refused the request before the application. */
  readonly server?: string
}

// ---------------------------------------------------------------------------------------------
// Requests, personas, options

/** A request as a client sends it (target exactly as written; headers in order, duplicates kept). */
export interface RawRequest {
  readonly method: string
  readonly target: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: string
}

export interface Persona {
  readonly claims: Record<string, unknown> | null
  /** The persona holds an explicit evs:snapshots:listAllProjects grant: cross-project parameters are its right. */
  readonly listAllProjects: boolean
}

export const PERSONAS = {
  admin: { claims: { sub: 'alice', project_id: PROJECT, roles: ['te_admin'] }, listAllProjects: false },
  readonly: { claims: { sub: 'bob', project_id: PROJECT, roles: ['readonly'] }, listAllProjects: false },
  getonly: { claims: { sub: 'erin', project_id: PROJECT, actions: ['evs:snapshots:get'] }, listAllProjects: false },
  nodelete: {
    claims: {
      sub: 'carol',
      project_id: PROJECT,
      actions: ['evs:snapshots:create', 'evs:snapshots:get', 'evs:snapshots:list', 'evs:snapshots:update', 'evs:snapshots:rollback',
        'evs:volumes:get']
    },
    listAllProjects: false
  },
  allprojects: {
    claims: { sub: 'frank', project_id: PROJECT, actions: ['evs:snapshots:list', 'evs:snapshots:get', 'evs:snapshots:listAllProjects'] },
    listAllProjects: true
  },
  other: { claims: { sub: 'dave', project_id: OTHER_PROJECT, roles: ['te_admin'] }, listAllProjects: false },
  enterprise: {
    claims: {
      sub: 'gina',
      project_id: PROJECT,
      enterprise_projects: [{ id: EP_GRANTED, actions: ['evs:snapshots:list', 'evs:snapshots:get'] }]
    },
    listAllProjects: false
  },
  none: { claims: null, listAllProjects: false }
} as const satisfies Record<string, Persona>
export type PersonaName = keyof typeof PERSONAS
export const PERSONA_NAMES = Object.keys(PERSONAS) as PersonaName[]

export const OPTION_SETS = {
  'deny/strip': { unmatched: 'deny', crossProjectQuery: 'strip' },
  'deny/deny': { unmatched: 'deny', crossProjectQuery: 'deny' },
  'pass/strip': { unmatched: 'pass', crossProjectQuery: 'strip' },
  'pass/deny': { unmatched: 'pass', crossProjectQuery: 'deny' }
} as const satisfies Record<string, AuthorizerOptions>
export type OptionSetName = keyof typeof OPTION_SETS
export const OPTION_SET_NAMES = Object.keys(OPTION_SETS) as OptionSetName[]

/**
 * How the gateway turns the target into the upstream request. `raw`: the target as received
 * (@fastify/http-proxy, http-proxy-middleware); `whatwg`: resolved with `new URL(target, upstream)`, as a
 * hand-written `http.request` forwarder or @fastify/reply-from used directly do.
 */
export type Forwarder = 'raw' | 'whatwg'
export const FORWARDERS: readonly Forwarder[] = ['raw', 'whatwg']

export interface Context {
  readonly persona: PersonaName
  readonly options: OptionSetName
  readonly forwarder: Forwarder
}

const authorizers = new Map<OptionSetName, Authorizer>()
export function authorizerFor (name: OptionSetName): Authorizer {
  let authorizer = authorizers.get(name)
  if (authorizer === undefined) {
    authorizer = createAuthorizer(OPTION_SETS[name])
    authorizers.set(name, authorizer)
  }
  return authorizer
}

/** The headers as Node hands them to a framework: lower-case names, duplicates joined. */
export function nodeHeaders (headers: RawRequest['headers']): Record<string, string> {
  const record: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    record[lower] = record[lower] === undefined ? value : `${record[lower]}, ${value}`
  }
  return record
}

export function decide (request: RawRequest, context: Context): Decision {
  const target = { method: request.method, url: request.target, headers: nodeHeaders(request.headers) }
  return authorizerFor(context.options).authorize(target, PERSONAS[context.persona].claims)
}

// ---------------------------------------------------------------------------------------------
// What a gateway forwards

/** Headers the gateway sets itself (examples/cinder-gateway.ts), compared with `_` read as `-`. */
const GATEWAY_OWNED = new Set([
  'x-auth-token', 'x-auth-user', 'x-auth-project-id', 'x-auth-key', 'host', 'content-length', 'connection', 'transfer-encoding'
])
export const UPSTREAM_HOST = '127.0.0.1:8776'

/**
 * The request a gateway sends upstream after an allow: the decision's forwardUrl (or the target), the
 * same method and body, the client's headers minus what stripIdentityHeaders drops, and the gateway's
 * own credential for noauth Cinder (`user:project` from the verified claims, as examples/cinder-gateway.ts).
 * undefined: the forwarder cannot resolve the target (it answers an error itself; nothing is forwarded).
 */
export function forwarded (request: RawRequest, decision: AllowDecision, context: Context): RawRequest | undefined {
  let target = decision.forwardUrl ?? request.target
  if (context.forwarder === 'whatwg') {
    try {
      const url = new URL(target, `http://${UPSTREAM_HOST}`)
      target = `${url.pathname}${url.search}`
    } catch {
      return undefined
    }
  }
  const headers: Array<readonly [string, string]> = [['Host', UPSTREAM_HOST]]
  for (const [name, value] of request.headers) {
    if (!isClientIdentityHeader(name) && !GATEWAY_OWNED.has(name.toLowerCase().replaceAll('_', '-'))) headers.push([name, value])
  }
  // noauth Cinder's `user:project` token from the verified claims. The user part is the same for every
  // persona (Cinder only keeps it in the context), so personas of one project forward identical bytes.
  const claims = PERSONAS[context.persona].claims
  if (claims !== null) headers.push(['X-Auth-Token', `evs-gateway:${claims.project_id}`])
  if (request.body !== '') headers.push(['Content-Length', String(Buffer.byteLength(request.body, 'latin1'))])
  return { method: request.method, target, headers, body: request.body }
}

/** The bytes on the wire (latin1: one byte per character, as generated). */
export function serialize (request: RawRequest): Buffer {
  const head = [`${request.method} ${request.target} HTTP/1.1`, ...request.headers.map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n')
  return Buffer.from(head + request.body, 'latin1')
}

// ---------------------------------------------------------------------------------------------
// evs-authz's table rows → the Cinder controller methods that implement them (cinder/api/v3/router.py)

const SNAPSHOTS = 'cinder.api.v3.snapshots.SnapshotsController'
const SNAPSHOT_METADATA = 'cinder.api.v3.snapshot_metadata.Controller'

interface CinderRow {
  readonly controller: string
  readonly method: string
  /** The routing arguments Cinder must see, from evs-authz's path parameters. */
  readonly args: (params: Readonly<Record<string, string>>) => Record<string, string | undefined>
}

type Params = Readonly<Record<string, string>>
type Args = Record<string, string | undefined>
const project = (p: Params): Args => ({ project_id: p['project_id'] })
const snapshot = (p: Params): Args => ({ project_id: p['project_id'], id: p['snapshot_id'] })
const metadata = (p: Params): Args => ({ project_id: p['project_id'], snapshot_id: p['snapshot_id'] })
const metadataKey = (p: Params): Args => ({ project_id: p['project_id'], snapshot_id: p['snapshot_id'], id: p['key'] })

/**
 * Keyed by `METHOD template`. Rows missing here have no Cinder 21 (Zed) counterpart: v2 (removed from
 * Cinder in Xena; Zed's api-paste.ini has no /v2), cloudsnapshots and os-vendor-snapshots (Huawei EVS
 * only). For those, Cinder must run nothing at all.
 */
export const CINDER_ROWS: Readonly<Record<string, CinderRow>> = {
  'POST /v3/{project_id}/snapshots': { controller: SNAPSHOTS, method: 'create', args: project },
  'GET /v3/{project_id}/snapshots': { controller: SNAPSHOTS, method: 'index', args: project },
  'GET /v3/{project_id}/snapshots/detail': { controller: SNAPSHOTS, method: 'detail', args: project },
  'PUT /v3/{project_id}/snapshots/{snapshot_id}': { controller: SNAPSHOTS, method: 'update', args: snapshot },
  'GET /v3/{project_id}/snapshots/{snapshot_id}': { controller: SNAPSHOTS, method: 'show', args: snapshot },
  'DELETE /v3/{project_id}/snapshots/{snapshot_id}': { controller: SNAPSHOTS, method: 'delete', args: snapshot },
  'POST /v3/{project_id}/snapshots/{snapshot_id}/metadata': { controller: SNAPSHOT_METADATA, method: 'create', args: metadata },
  'GET /v3/{project_id}/snapshots/{snapshot_id}/metadata': { controller: SNAPSHOT_METADATA, method: 'index', args: metadata },
  'PUT /v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}': { controller: SNAPSHOT_METADATA, method: 'update', args: metadataKey },
  'PUT /v3/{project_id}/snapshots/{snapshot_id}/metadata': { controller: SNAPSHOT_METADATA, method: 'update_all', args: metadata },
  'GET /v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}': { controller: SNAPSHOT_METADATA, method: 'show', args: metadataKey },
  'DELETE /v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}': { controller: SNAPSHOT_METADATA, method: 'delete', args: metadataKey }
}

/** The resources whose controllers act on snapshots (the snapshot actions of POST .../action included). */
const SNAPSHOT_RESOURCES = new Set([SNAPSHOTS, SNAPSHOT_METADATA])

/** The facts of an allow the judge reads (an AllowDecision has them; a recorded case keeps them). */
export interface JudgedAllow {
  readonly reason: AllowDecision['reason']
  readonly route: { readonly method: string, readonly template: string } | undefined
  readonly params: Readonly<Record<string, string>>
  readonly enterpriseProjects: AllowDecision['enterpriseProjects']
  readonly forwardUrl?: string | undefined
}

export function rowKey (decision: Pick<JudgedAllow, 'route'>): string | undefined {
  return decision.route === undefined ? undefined : `${decision.route.method} ${decision.route.template}`
}

/** What a recorded case keeps of the allow it disagreed with. */
export function judgedAllow (decision: AllowDecision): JudgedAllow {
  return {
    reason: decision.reason,
    route: decision.route === undefined ? undefined : { method: decision.route.method, template: decision.route.template },
    params: { ...decision.params },
    enterpriseProjects: decision.enterpriseProjects,
    forwardUrl: decision.forwardUrl
  }
}

// ---------------------------------------------------------------------------------------------
// The judge

/** Effect, then cause (the cause is what the shrunk counterexample shows; each gets its own regression case). */
export type DisagreementClass =
  /** Cinder runs another method than the authorized row, because Routes read `_method` from the query. */
  | 'other-action/method-override-query'
  /** ... because Routes read `_method` from a form-encoded or multipart body. */
  | 'other-action/method-override-body'
  /** ... because Cinder reads the path (or method) otherwise. */
  | 'other-action/path'
  /** The authorized row, but another project or other ids. */
  | 'other-ids'
  /** `unmatched: 'pass'` let through a request that runs a snapshot controller. */
  | 'unmatched-pass-reached-snapshots'
  /** A request evs-authz judged outside the API (not-guarded) runs an API controller, by forwarder. */
  | 'unjudged-reached-api/raw'
  | 'unjudged-reached-api/whatwg'
  /** The controller receives all_tenants / all_projects without a listAllProjects grant: `;`-joined ... */
  | 'cross-project-parameter/semicolon'
  /** ... or in a spelling evs-authz does not read as the parameter. */
  | 'cross-project-parameter/spelling'
  /** The backend filters by `all_granted_eps` while evs-authz judged the caller's EP grants. */
  | 'enterprise-project/all-granted-eps'
  /** The backend reads an enterprise_project_id value evs-authz did not judge. */
  | 'enterprise-project/not-judged'

export interface Disagreement {
  readonly class: DisagreementClass
  readonly detail: string
}

/**
 * What is wrong with forwarding this allow, given what Cinder's own code does with the forwarded bytes.
 *
 * Not a disagreement (harmless): Cinder runs no controller method at all (404 no route, 400 malformed
 * request url, 413, 400 from the WSGI server, 404 for a microversion without the method, 204 from noauth
 * without a token). The request then changed nothing and read nothing.
 */
export function judge (decision: JudgedAllow, context: Context, answer: OracleAnswer, target: string): Disagreement[] {
  const found: Disagreement[] = []
  const ran = answer.dispatched
  const key = rowKey(decision)
  if (ran !== null) {
    const route = `${ran.route.methods?.join('|') ?? '?'} ${ran.route.path ?? '?'}`
    const what = `Cinder runs ${short(ran.controller)}.${ran.method}(${JSON.stringify(ran.args)}) as ${ran.request_method}, route ${route}`
    if (decision.reason === 'granted' && key !== undefined) {
      const row = CINDER_ROWS[key]
      if (row === undefined || row.controller !== ran.resource || row.controller !== ran.controller || row.method !== ran.method) {
        found.push({ class: otherActionCause(ran), detail: `evs-authz authorized ${key}; ${what}` })
      } else {
        const expected = row.args(decision.params)
        const differs = Object.entries(expected).filter(([name, value]) => !sameId(value, ran.args[name]))
        const detail = `evs-authz authorized ${key} with ${JSON.stringify(decision.params)}; ${what}`
        if (differs.length > 0) found.push({ class: 'other-ids', detail })
      }
    } else if (decision.reason === 'unmatched-pass') {
      const detail = `evs-authz let an unmatched request pass; ${what}`
      if (SNAPSHOT_RESOURCES.has(ran.resource)) found.push({ class: 'unmatched-pass-reached-snapshots', detail })
    } else if (!ran.controller.startsWith('cinder.api.versions.')) {
      const detail = `evs-authz judged the request outside the API (${decision.reason}); ${what}`
      found.push({ class: `unjudged-reached-api/${context.forwarder}`, detail })
    }
    // Any controller that receives the parameter counts (which controllers honour it is not audited here).
    // A not-guarded request is judged nothing at all: that is already its disagreement above.
    if (decision.reason !== 'not-guarded' && !PERSONAS[context.persona].listAllProjects) {
      const read = (['all_tenants', 'all_projects'] as const).filter((name) => (ran.query[name]?.all.length ?? 0) > 0)
      if (read.length > 0) {
        const raw = read.flatMap((name) => ran.query[name]?.raw ?? [])
        // `;`-joined: the segment is only part of an `&`-separated pair.
        const semicolon = raw.some((segment) => target.includes(segment) && !ampersandPairs(target).includes(segment))
        const listed = ran.list?.scope === 'all-projects' ? ' and Cinder lists every project' : ''
        found.push({
          class: semicolon ? 'cross-project-parameter/semicolon' : 'cross-project-parameter/spelling',
          detail: `the controller reads ${read.map((n) => `${n}=${JSON.stringify(ran.query[n]?.all)}`).join(', ')} ` +
            `from ${JSON.stringify(raw)} (no listAllProjects grant)${listed}; ${what}`
        })
      }
    }
  }
  // The EP filter is read by the EVS backend, which Cinder does not implement (no cloudsnapshots routes):
  // checked on webob's reading of the forwarded query whether or not Cinder has the route.
  const judged = decision.enterpriseProjects.filter((fact) => fact.from === 'query').map((fact) => fact.id)
  if (judged.length > 0 && answer.query !== null) {
    const values = answer.query.enterprise_project_id?.all ?? []
    const unjudged = values.filter((value) => !judged.includes(value))
    if (unjudged.length > 0 || values.length === 0) {
      found.push({
        class: unjudged.includes('all_granted_eps') ? 'enterprise-project/all-granted-eps' : 'enterprise-project/not-judged',
        detail: `evs-authz judged enterprise_project_id ${JSON.stringify(judged)}; the backend reads ${JSON.stringify(values)} ` +
          `(get() = ${JSON.stringify(answer.query.enterprise_project_id?.get ?? null)})`
      })
    }
  }
  return found
}

function otherActionCause (ran: Dispatch): DisagreementClass {
  const overridden = ran.route.methods !== null && !ran.route.methods.includes(ran.request_method)
  if (!overridden) return 'other-action/path'
  return (ran.query._method?.all.length ?? 0) > 0 ? 'other-action/method-override-query' : 'other-action/method-override-body'
}

function ampersandPairs (target: string): string[] {
  const q = target.indexOf('?')
  return q === -1 ? [] : target.slice(q + 1).split('&')
}

/** The same id read two ways: evs-authz's parameter (as written, percent-escaped) and Cinder's (decoded). */
function sameId (ours: string | undefined, theirs: unknown): boolean {
  if (ours === theirs) return true
  if (typeof theirs !== 'string' || ours === undefined) return false
  try {
    const decoded = decodeURIComponent(ours)
    // eventlet decodes PATH_INFO as latin1 (WSGI); Cinder then sees UTF-8 bytes as latin1 characters.
    return decoded === theirs || Buffer.from(decoded, 'utf8').toString('latin1') === theirs
  } catch {
    return false
  }
}

function short (name: string): string {
  return name.replace(/^cinder\.api\./, '')
}

/** The raw query segments behind a class of disagreement, as the oracle attributed them. */
export function offendingSegments (klass: DisagreementClass, facts: QueryFacts | null | undefined): string[] {
  if (facts === null || facts === undefined) return []
  switch (klass) {
    case 'cross-project-parameter/semicolon':
    case 'cross-project-parameter/spelling':
      return [...(facts.all_tenants?.raw ?? []), ...(facts.all_projects?.raw ?? [])]
    case 'enterprise-project/all-granted-eps':
    case 'enterprise-project/not-judged':
      return [...(facts.enterprise_project_id?.raw ?? [])]
    case 'other-action/method-override-query':
      return [...(facts._method?.raw ?? [])]
    case 'other-action/method-override-body':
    case 'other-action/path':
    case 'other-ids':
    case 'unmatched-pass-reached-snapshots':
    case 'unjudged-reached-api/raw':
    case 'unjudged-reached-api/whatwg':
      return []
  }
}

/** The query segments of a target, split where webob splits (`&` and `;`). */
export function querySegments (target: string): string[] {
  const q = target.indexOf('?')
  return q === -1 ? [] : target.slice(q + 1).split(/[&;]/).filter((s) => s !== '')
}

// ---------------------------------------------------------------------------------------------
// Recorded disagreements (test/differential/regressions.json)

export interface RegressionCase {
  readonly class: DisagreementClass
  /** When the case was found, and against which evs-authz commit (informational). */
  readonly found: string
  readonly detail: string
  readonly request: RawRequest
  readonly context: Context
  /** The allow evs-authz decided at the time. */
  readonly decided: JudgedAllow
  /** The request evs-authz let through at the time, as the gateway forwarded it. */
  readonly forwarded: RawRequest
  /** What Cinder's code did with exactly those bytes. */
  readonly oracle: OracleAnswer
}
