// The route table: which IAM actions each API route requires. Data in, validated compiled routes out.
// The loader checks every row and reports all bad rows in one ConfigurationError.
import { isRecord } from '../support/records.js'
import { splitAction, type ActionParts } from '../iam/action-pattern.js'
import { ProblemList, describe } from '../support/errors.js'
import { backtrackingRisk, projectIdPatternProblem } from './regex-safety.js'
import { parseTemplate, type TemplateSegment } from './template.js'

/** Methods a row may name. HEAD is never a row: it is authorized as GET. */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
export type RouteMethod = typeof ROUTE_METHODS[number]

/** `cinder`: OpenStack-compatible API (OpenStack fault bodies). `evs`: Huawei-native API (`EVS.xxxx` bodies). */
export type ApiFamily = 'cinder' | 'evs'

/** What a parameter value must look like, checked on its percent-decoded value. */
export interface ParamConstraint {
  /** The decoded value must match (anchor it yourself). */
  readonly pattern: RegExp
  /** Longest accepted decoded value (default: 255). */
  readonly maxLength?: number
}

/**
 * Where the enterprise project a request touches comes from (EP-capable rows only): a query
 * parameter naming it, or the EP of a snapshot or volume named by a path parameter or a JSON body field.
 */
export type EnterpriseProjectSource =
  | { readonly from: 'query', readonly name: string }
  | { readonly from: 'param', readonly name: string, readonly kind: ResourceKind }
  | { readonly from: 'body', readonly path: readonly string[], readonly kind: ResourceKind }

/** Resources whose enterprise project a resolver can look up. */
export type ResourceKind = 'snapshot' | 'volume'

/** One row of a route table, as users write it. */
export interface RouteDefinition {
  readonly method: RouteMethod
  /** Path template in the API reference's syntax: `/v2/{project_id}/snapshots/{snapshot_id}`. */
  readonly template: string
  /** IAM actions the route requires; every one must be allowed (AND). */
  readonly actions: readonly string[]
  /** Whether grants scoped to an enterprise project may authorize this route. */
  readonly enterpriseProject: boolean
  /** Required when `enterpriseProject` is true: where the request's enterprise project(s) come from (all must be granted). */
  readonly enterpriseProjectFrom?: readonly EnterpriseProjectSource[]
  readonly family: ApiFamily
  /** Human name, used in logs and the CLI. */
  readonly name: string
  /** What the call does, in one line (optional; shown by formatRouteTable, so in the README and `evs-authz routes`). */
  readonly description?: string
  /** Per-parameter constraints; parameters not named here get the built-in ones. */
  readonly params?: Readonly<Record<string, ParamConstraint>>
}

/** A validated row, ready for the matcher. */
export interface CompiledRoute extends RouteDefinition {
  readonly index: number
  /** `actions`, each split into its parts once, in the same order. */
  readonly actionParts: readonly ActionParts[]
  readonly segments: readonly TemplateSegment[]
  readonly constraints: Readonly<Record<string, ParamConstraint>>
}

/** IAM action grammar for table rows: `service:resource:operation`, no wildcards. */
export const ACTION_NAME = /^[a-z][a-z0-9-]*:[A-Za-z][A-Za-z0-9-]*:[A-Za-z][A-Za-z0-9-]*$/

/** Huawei/Cinder ids: no dots, so `detail.json` can never be read as an id. */
export const ID_CONSTRAINT: ParamConstraint = { pattern: /^[A-Za-z0-9_-]+$/, maxLength: 255 }
/** The parameter that names the project: the IAM stage compares it with the token's project. */
export const PROJECT_PARAM = 'project_id'

/** Cinder's `project_id_regex` default. */
export const PROJECT_ID_PATTERN = /^[0-9a-f-]+$/
/**
 * Cinder metadata keys (`^[a-zA-Z0-9-_:. /]{1,255}$`) minus `/`, which the path gate never lets through
 * encoded, and minus a trailing `.json` / `.xml`: Cinder reads those as a format suffix (`k1.json` is key `k1`).
 */
export const METADATA_KEY_CONSTRAINT: ParamConstraint = { pattern: /^(?![\s\S]*\.(?:json|xml)$)[A-Za-z0-9_:. -]+$/i, maxLength: 255 }

/** Built-in constraints by parameter name; any other parameter is id-like. */
export function defaultConstraint (name: string, projectIdPattern: RegExp): ParamConstraint {
  if (name === PROJECT_PARAM) return { pattern: projectIdPattern, maxLength: 255 }
  if (name === 'key') return METADATA_KEY_CONSTRAINT
  return ID_CONSTRAINT
}

/** Loader settings. */
export interface LoadOptions {
  /** Pattern for `{project_id}` (default: Cinder's `[0-9a-f-]+`). */
  readonly projectIdPattern?: RegExp
}

/** Validates every row and compiles the table. Throws EVS_AUTHZ_ERR_ROUTE_TABLE listing all bad rows. */
export function loadRouteTable (rows: unknown, options: LoadOptions = {}): readonly CompiledRoute[] {
  const problems = new ProblemList()
  if (!Array.isArray(rows) || rows.length === 0) {
    problems.add('routes', `should be a non-empty array of route rows, instead got ${describe(rows)}`)
    problems.throwIfAny('EVS_AUTHZ_ERR_ROUTE_TABLE', 'Invalid route table')
  }
  const projectIdPattern = options.projectIdPattern ?? PROJECT_ID_PATTERN
  // The option's other checks (it is a RegExp) report EVS_AUTHZ_ERR_OPTIONS, so this one does too.
  const optionProblems = new ProblemList()
  const projectIdRisk = projectIdPattern instanceof RegExp ? projectIdPatternProblem(projectIdPattern) : undefined
  if (projectIdRisk !== undefined) optionProblems.add('projectIdPattern', `${String(projectIdPattern)} ${projectIdRisk}`)
  optionProblems.throwIfAny('EVS_AUTHZ_ERR_OPTIONS', 'Invalid evs-authz options')
  const compiled: CompiledRoute[] = []
  // Rows come from user code or JSON: each is read as unknown and checked (not an array: thrown above).
  const untrusted: readonly unknown[] = Array.isArray(rows) ? rows : []
  untrusted.forEach((row, index) => {
    const route = compileRow(row, index, projectIdPattern, problems)
    if (route !== undefined) compiled.push(route)
  })
  checkConflicts(compiled, problems)
  problems.throwIfAny('EVS_AUTHZ_ERR_ROUTE_TABLE', 'Invalid route table')
  return Object.freeze(compiled)
}

function compileRow (row: unknown, index: number, projectIdPattern: RegExp, problems: ProblemList): CompiledRoute | undefined {
  const at = `routes[${index}]`
  if (!isRecord(row)) {
    problems.add(at, `should be an object, instead got ${describe(row)}`)
    return undefined
  }
  const r = row
  const before = problems.items.length
  const methods: readonly unknown[] = ROUTE_METHODS
  if (!methods.includes(r['method'])) {
    const methods = ROUTE_METHODS.join(', ')
    problems.add(`${at}.method`, `should be one of ${methods} (HEAD is authorized as GET), instead got ${describe(r['method'])}`)
  }
  const parsed = parseTemplate(r['template'])
  if (parsed.kind === 'invalid') {
    for (const message of parsed.problems) problems.add(`${at}.template`, `${describe(r['template'])} ${message}`)
  }
  const actions = r['actions']
  if (!Array.isArray(actions) || actions.length === 0) {
    problems.add(`${at}.actions`, `should be a non-empty array of action names, instead got ${describe(actions)}`)
  } else {
    for (const action of actions) {
      if (typeof action !== 'string' || !ACTION_NAME.test(action)) {
        problems.add(`${at}.actions`, `${describe(action)} is not an action name (service:resource:operation, no wildcards)`)
      }
    }
    if (new Set(actions).size !== actions.length) problems.add(`${at}.actions`, 'lists an action twice')
  }
  if (typeof r['enterpriseProject'] !== 'boolean') {
    problems.add(`${at}.enterpriseProject`, `should be a boolean, instead got ${describe(r['enterpriseProject'])}`)
  }
  if (r['family'] !== 'cinder' && r['family'] !== 'evs') {
    problems.add(`${at}.family`, `should be "cinder" or "evs", instead got ${describe(r['family'])}`)
  }
  if (typeof r['name'] !== 'string' || r['name'].trim() === '') {
    problems.add(`${at}.name`, `should be a non-empty string, instead got ${describe(r['name'])}`)
  }
  const description = r['description']
  if (description !== undefined && (typeof description !== 'string' || description.trim() === '' || /[\r\n]/.test(description))) {
    problems.add(`${at}.description`, `should be a non-empty string of one line, instead got ${describe(description)}`)
  }
  if (parsed.kind === 'parsed' && parsed.segments[0]?.kind !== 'static') {
    problems.add(`${at}.template`,
      `${describe(r['template'])} must start with a static segment (the API version, such as /v2): it opens the guarded space`)
  }
  checkEnterpriseProjectSources(r, parsed.kind === 'parsed' ? parsed.segments : [], at, problems)
  const constraints: Record<string, ParamConstraint> = Object.create(null)
  const params: unknown = r['params'] ?? {}
  if (!isRecord(params)) {
    problems.add(`${at}.params`, `should be an object of parameter constraints, instead got ${describe(params)}`)
  }
  if (parsed.kind === 'parsed') {
    for (const segment of parsed.segments) {
      if (segment.kind === 'param') constraints[segment.name] = defaultConstraint(segment.name, projectIdPattern)
    }
    for (const [name, constraint] of Object.entries(isRecord(params) ? params : {})) {
      const where = `${at}.params.${name}`
      if (!(name in constraints)) {
        problems.add(where, `names no parameter of the template ${describe(r['template'])}`)
      } else if (!isConstraint(constraint)) {
        problems.add(where, `should be { pattern: RegExp, maxLength?: positive integer }, instead got ${describe(constraint)}`)
      } else {
        const risk = backtrackingRisk(constraint.pattern)
        if (risk === undefined) constraints[name] = constraint
        else problems.add(`${where}.pattern`, `${String(constraint.pattern)} ${risk}`)
      }
    }
  }
  if (problems.items.length > before || parsed.kind === 'invalid') return undefined
  // Every field the compiled route copies was checked above (a problem returned undefined).
  const definition = row as unknown as RouteDefinition
  return Object.freeze({
    method: definition.method,
    template: definition.template,
    actions: Object.freeze([...definition.actions]),
    actionParts: Object.freeze(definition.actions.map(splitAction)),
    enterpriseProject: definition.enterpriseProject,
    enterpriseProjectFrom: Object.freeze([...(definition.enterpriseProjectFrom ?? [])]),
    family: definition.family,
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    params: definition.params ?? {},
    index,
    segments: parsed.segments,
    constraints: Object.freeze(constraints)
  })
}

function checkEnterpriseProjectSources (
  r: Record<string, unknown>, segments: readonly TemplateSegment[], at: string, problems: ProblemList
): void {
  const sources = r['enterpriseProjectFrom']
  const where = `${at}.enterpriseProjectFrom`
  if (r['enterpriseProject'] !== true) {
    if (sources !== undefined && !(Array.isArray(sources) && sources.length === 0)) {
      problems.add(where, 'is only allowed on rows with enterpriseProject: true')
    }
    return
  }
  if (!Array.isArray(sources) || sources.length === 0) {
    problems.add(where, 'is required on rows with enterpriseProject: true: a non-empty array of ' +
      '{ from: "query", name } | { from: "param", name, kind } | { from: "body", path, kind }')
    return
  }
  const params = new Set(segments.flatMap((s) => (s.kind === 'param' ? [s.name] : [])))
  sources.forEach((source: unknown, i) => {
    const s: Record<string, unknown> = isRecord(source) ? source : {}
    const kindOk = s['kind'] === 'snapshot' || s['kind'] === 'volume'
    const ok = s['from'] === 'query'
      ? typeof s['name'] === 'string' && s['name'] !== ''
      : s['from'] === 'param'
        ? kindOk && typeof s['name'] === 'string' && params.has(s['name'])
        : s['from'] === 'body' && kindOk && Array.isArray(s['path']) && s['path'].length > 0 &&
          s['path'].every((k) => typeof k === 'string' && k !== '')
    if (!ok) {
      problems.add(`${where}[${i}]`, 'should be { from: "query", name } | { from: "param", name (a template parameter), ' +
        `kind: "snapshot" | "volume" } | { from: "body", path: string[], kind }, instead got ${describe(source)}`)
    }
  })
}

function isConstraint (value: unknown): value is ParamConstraint {
  if (!isRecord(value)) return false
  const maxLength = value['maxLength']
  const pattern = value['pattern']
  return pattern instanceof RegExp && !pattern.global && !pattern.sticky &&
    (maxLength === undefined || (typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength > 0))
}

/**
 * Duplicates (same method and template), ambiguous templates (same method and shape, other parameter
 * names) and parameters that disagree at one tree position (one name and one constraint per position).
 */
function checkConflicts (routes: readonly CompiledRoute[], problems: ProblemList): void {
  const byShape = new Map<string, CompiledRoute>()
  const paramAt = new Map<string, { route: CompiledRoute, name: string, constraint: ParamConstraint }>()
  for (const route of routes) {
    const shape = route.segments.map((s) => (s.kind === 'static' ? `/${s.value}` : '/{}')).join('')
    const key = `${route.method} ${shape}`
    const earlier = byShape.get(key)
    if (earlier !== undefined) {
      const what = earlier.template === route.template ? 'duplicates' : 'is ambiguous with'
      const other = `routes[${earlier.index}] ${earlier.method} ${earlier.template}`
      problems.add(`routes[${route.index}]`, `${route.method} ${route.template} ${what} ${other}`)
    } else {
      byShape.set(key, route)
    }
    let prefix = ''
    for (const segment of route.segments) {
      if (segment.kind === 'param') {
        // compileRow gives every parameter of the template a constraint.
        const constraint = route.constraints[segment.name] as ParamConstraint
        const seen = paramAt.get(prefix)
        if (seen === undefined) {
          paramAt.set(prefix, { route, name: segment.name, constraint })
        } else if (seen.name !== segment.name || !sameConstraint(seen.constraint, constraint)) {
          const there = `routes[${seen.route.index}] ${seen.route.template} has {${seen.name}}`
          problems.add(`routes[${route.index}]`,
            `parameter {${segment.name}} in ${route.template} sits where ${there}; one position takes one parameter name and constraint`)
        }
      }
      prefix += segment.kind === 'static' ? `/${segment.value}` : '/{}'
    }
  }
}

function sameConstraint (a: ParamConstraint, b: ParamConstraint): boolean {
  return a.pattern.source === b.pattern.source && a.pattern.flags === b.pattern.flags && a.maxLength === b.maxLength
}
