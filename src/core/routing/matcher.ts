// Our radix matcher over path segments, compiled once from the route table.
// Rules: static segments beat parameters; case-sensitive; exact (the gate already refused empty
// segments); one parameter per segment; no backtracking, because a parameter value that equals a
// sibling static segment (ignoring case) is refused outright rather than read as a parameter.
import { PROJECT_PARAM, type ApiFamily, type CompiledRoute, type ParamConstraint } from './route-table.js'
import { PLAIN_PATH_CHARS } from '../request/path-gate.js'

interface StaticEdge {
  readonly label: string
  /** The label's first and last character codes: matchPlain picks an edge on them (its node's check confirms). */
  readonly first: number
  readonly last: number
  readonly node: MatchNode
}

interface ParamEdge {
  readonly name: string
  readonly constraint: ParamConstraint
  readonly maxLength: number
  readonly node: MatchNode
  /** The constraint as a character table over plain path characters, when it is one (see plainCharClass). */
  readonly plain: PlainClass | undefined
}

/** A constraint of the form `^[class]+$` (or `*`, `{n}`, `{m,}`, `{m,n}`), as a table and length bounds. */
interface PlainClass {
  /** The plain path characters (PLAIN_PATH_CHARS) the class takes, as the members of a regex class (`\\xNN...`). */
  readonly members: string
  readonly minLength: number
  readonly maxLength: number
}

interface MatchNode {
  statics: StaticEdge[]
  /** Used instead of the linear scan when a node has many static children (synthetic large tables). */
  staticMap: Map<string, MatchNode> | undefined
  /** Lower-cased static labels: a parameter may never equal one of these, whatever its case. */
  staticFolded: Set<string>
  /** Lengths of the static labels: a value of another length cannot spell one (skips the lower-casing). */
  staticLengths: Set<number>
  param: ParamEdge | undefined
  /** Routes that end here, by method. */
  routes: Map<string, CompiledRoute> | undefined
  /** What matchPlain answers when `routes` has no row for the method (the same value lookup builds). */
  noMethod: MatchResult | undefined
  /** What matchPlain answers for a parameter value spelled like a sibling static segment. */
  ambiguous: MatchResult | undefined
  /** The longest static label (0 without any): a longer parameter value cannot spell one. */
  longestStatic: number
  /** The methods of `routes` and their rows, side by side: matchPlain compares a few strings instead of hashing. */
  methods: string[]
  methodRoutes: CompiledRoute[]
  /** Builds the params object of a row ending here from the values in path order (see paramsBuilder). */
  params: ParamsBuilder
  /** Which value in path order is `{project_id}` (-1: none). */
  projectAt: number
  /**
   * Sticky: from the `/` before the first template segment, the path down to this node spelled plainly: its static
   * labels exactly, each parameter as a run of the plain characters its constraint takes (see nodeCheck).
   */
  check: RegExp
}

type ParamsBuilder = (v0: string, v1: string, v2: string, v3: string, more: readonly string[] | undefined) => Record<string, string>

/** Outcome of a lookup. */
export type MatchResult =
  | {
    readonly kind: 'matched'
    readonly route: CompiledRoute
    readonly params: Readonly<Record<string, string>>
    /** `params.project_id`, read once here (the decision and the IAM stage need it; params objects differ in shape). */
    readonly projectId: string | undefined
  }
  /** A template fits the path but has no row for this method. */
  | { readonly kind: 'no-method', readonly family: ApiFamily, readonly allowed: readonly string[] }
  | { readonly kind: 'no-route', readonly rejectedParam: string | undefined }
  /** A parameter value spelled like a sibling static segment (`DETAIL` beside `detail`). */
  | { readonly kind: 'ambiguous', readonly param: string }

/** A lookup that still needs the caller's grants to become a decision (an ambiguous one is refused at once). */
export type PendingMatch = Exclude<MatchResult, { readonly kind: 'ambiguous' }>

export interface Matcher {
  /** Looks up `path` from index `start` (which holds the `/` before the first template segment). */
  match (method: string, path: string, start: number): MatchResult
  /**
   * The fast path: validates `target` from `start` (a `/`) to `end` as plainly canonical (segments of
   * PLAIN_PATH_CHARS, none empty, `.` or `..`) while walking the tree, in one scan. Returns what `match` returns
   * for that path, or undefined whenever the path is not plainly canonical or the answer needs the slow reading
   * (a rejected parameter, a long value): then the caller must use the gate and `match`.
   */
  matchPlain (method: string, target: string, start: number, end: number): MatchResult | undefined
}

const LINEAR_SCAN_LIMIT = 8

function newNode (): MatchNode {
  return {
    statics: [],
    staticMap: undefined,
    staticFolded: new Set(),
    staticLengths: new Set(),
    param: undefined,
    routes: undefined,
    noMethod: undefined,
    ambiguous: undefined,
    longestStatic: 0,
    methods: [],
    methodRoutes: [],
    params: () => EMPTY_PARAMS,
    projectAt: -1,
    check: EMPTY_CHECK
  }
}

/** Compiles validated routes (see loadRouteTable) into the segment tree. */
export function compileMatcher (routes: readonly CompiledRoute[]): Matcher {
  const root = newNode()
  for (const route of routes) {
    let node = root
    for (const segment of route.segments) {
      if (segment.kind === 'static') {
        let edge = node.statics.find((e) => e.label === segment.value)
        if (edge === undefined) {
          const label = segment.value
          edge = { label, first: label.charCodeAt(0), last: label.charCodeAt(label.length - 1), node: newNode() }
          node.statics.push(edge)
          node.staticFolded.add(segment.value.toLowerCase())
          node.staticLengths.add(segment.value.length)
        }
        node = edge.node
      } else {
        // loadRouteTable gives every parameter of the template a constraint.
        const constraint = route.constraints[segment.name] as ParamConstraint
        node.param ??= {
          name: segment.name, constraint, maxLength: constraint.maxLength ?? 255, node: newNode(), plain: plainCharClass(constraint.pattern)
        }
        node = node.param.node
      }
    }
    node.routes ??= new Map()
    node.routes.set(route.method, route)
  }
  freeze(root, [], '')
  return {
    match: (method, path, start) => lookup(root, method, path, start),
    matchPlain: (method, target, start, end) => lookupPlain(root, method, target, start, end)
  }
}

function freeze (node: MatchNode, names: readonly string[], check: string): void {
  if (node.statics.length > LINEAR_SCAN_LIMIT) node.staticMap = new Map(node.statics.map((e) => [e.label, e.node]))
  node.longestStatic = Math.max(0, ...node.statics.map((e) => e.label.length))
  node.check = new RegExp(check, 'y')
  if (node.routes !== undefined) {
    // A node's route map is created with its first route: never empty.
    const first = node.routes.values().next().value as CompiledRoute
    node.noMethod = Object.freeze({ kind: 'no-method', family: first.family, allowed: Object.freeze([...node.routes.keys()]) })
    node.methods = [...node.routes.keys()]
    node.methodRoutes = [...node.routes.values()]
    node.params = paramsBuilder(names)
    node.projectAt = names.indexOf(PROJECT_PARAM)
  }
  const param = node.param
  if (param !== undefined) node.ambiguous = Object.freeze({ kind: 'ambiguous', param: param.name })
  for (const edge of node.statics) freeze(edge.node, names, `${check}\\/${literal(edge.label)}`)
  if (param !== undefined) freeze(param.node, [...names, param.name], `${check}\\/[${param.plain?.members ?? PLAIN_MEMBERS}]+`)
}

/** A static label as regex source: template.ts allows only unreserved characters; all but letters and digits are escaped. */
function literal (label: string): string {
  return label.replace(/[^A-Za-z0-9]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/**
 * The params object of the rows at one node, built by an object literal compiled for their names (as find-my-way
 * does): one fixed shape per row instead of a store per name through a shared, megamorphic site. The names are
 * validated identifiers (template.ts: `[A-Za-z_][A-Za-z0-9_]*`, never an Object.prototype name) and are quoted with
 * JSON.stringify, so the compiled source can only ever be this literal.
 */
function paramsBuilder (names: readonly string[]): ParamsBuilder {
  if (names.length === 0) return () => EMPTY_PARAMS
  const fields = names.map((name, i) => `${JSON.stringify(name)}: ${i < 4 ? `v${i}` : `more[${i - 4}]`}`)
  // eslint-disable-next-line no-new-func -- the source is a literal of quoted, validated identifiers; Function is untyped, hence the cast.
  return new Function('v0', 'v1', 'v2', 'v3', 'more', `return { ${fields.join(', ')} }`) as ParamsBuilder
}

function lookup (root: MatchNode, method: string, path: string, start: number): MatchResult {
  let node = root
  let params: Record<string, string> | undefined
  let i = start
  while (i < path.length) {
    const from = i + 1
    let to = path.indexOf('/', from)
    if (to === -1) to = path.length
    let next = findStatic(node, path, from, to)
    if (next === undefined) {
      const param = node.param
      if (param === undefined) return { kind: 'no-route', rejectedParam: undefined }
      const raw = path.slice(from, to)
      // The gate has validated every escape, so decoding cannot throw.
      const value = raw.includes('%') ? decodeURIComponent(raw) : raw
      if (value.length > param.maxLength || !param.constraint.pattern.test(value)) return { kind: 'no-route', rejectedParam: param.name }
      if (node.staticLengths.has(value.length) && node.staticFolded.has(value.toLowerCase())) {
        return { kind: 'ambiguous', param: param.name }
      }
      // A plain object: parameter names are validated identifiers (never __proto__ and friends), and
      // each route assigns them in the same order, so V8 keeps one fast shape per route.
      params ??= {}
      params[param.name] = value
      next = param.node
    }
    node = next
    i = to
  }
  if (node.methods.length === 0) return NO_ROUTE
  const route = rowFor(node, method)
  // noMethod is set at every node with rows (freeze), so the fallback is never taken.
  if (route === undefined) return node.noMethod ?? NO_ROUTE
  return { kind: 'matched', route, params: params ?? EMPTY_PARAMS, projectId: params?.[PROJECT_PARAM] }
}

/** The row of `node` for `method` (HEAD is authorized as GET); both lookups answer with it. */
function rowFor (node: MatchNode, method: string): CompiledRoute | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method
  const methods = node.methods
  for (let k = 0; k < methods.length; k++) {
    // methodRoutes is parallel to methods.
    if (methods[k] === wanted) return node.methodRoutes[k]
  }
  return undefined
}

// Object.create returns `any`; a null prototype means no inherited names (`params['constructor']` is undefined).
const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>)

function findStatic (node: MatchNode, path: string, from: number, to: number): MatchNode | undefined {
  if (node.staticMap !== undefined) return node.staticMap.get(path.slice(from, to))
  const length = to - from
  for (const edge of node.statics) {
    // startsWith at an offset compares in place: no substring is allocated.
    if (edge.label.length === length && path.startsWith(edge.label, from)) return edge.node
  }
  return undefined
}

let plainMembers = ''
for (let c = 0; c < 128; c++) if (PLAIN_PATH_CHARS[c] === 1) plainMembers += `\\x${c.toString(16).padStart(2, '0')}`
/** The plain path characters as the members of a regex class (none of them is `/`, `?` or `#`). */
const PLAIN_MEMBERS = plainMembers
/**
 * Sticky: segments of plain characters separated by `/`, none of them `.` or `..` (a segment ends at `/`, at `?`,
 * where a fast path's path ends, or at the end). Never empty; linear: the class holds no `/`.
 */
const PLAIN_SEGMENTS = new RegExp(`(?!\\.\\.?(?:[/?]|$))[${PLAIN_MEMBERS}]+(?:/(?!\\.\\.?(?:[/?]|$))[${PLAIN_MEMBERS}]+)*`, 'y')
/** The root's check: nothing consumed yet. */
const EMPTY_CHECK = /(?:)/y

const NO_ROUTE: MatchResult = Object.freeze({ kind: 'no-route', rejectedParam: undefined })

/** The source of a single-class pattern: `^[...]` then `+`, `*`, `{n}`, `{m,}` or `{m,n}`, then `$`. */
const SINGLE_CLASS = /^\^\[((?:[^\\\]]|\\[\s\S])*)\](\+|\*|\{(\d+)(,(\d*))?\})\$$/

/**
 * A constraint as a character table, when the table decides exactly what `pattern.test` decides for values of
 * plain path characters: the pattern is one character class repeated (so a value matches when every character
 * is in the class and the length fits the quantifier), tested statelessly (no `g` / `y`), with no set notation
 * (`v`), and `test` is RegExp's own. Anything else: undefined, and the regex itself runs.
 */
function plainCharClass (pattern: RegExp): PlainClass | undefined {
  // Only a plain RegExp: an own `source`, `flags`, `test` or `exec` (anything but lastIndex) could say one thing and test another.
  if (Object.getPrototypeOf(pattern) !== RegExp.prototype || Reflect.ownKeys(pattern).some((key) => key !== 'lastIndex')) return undefined
  const shape = SINGLE_CLASS.exec(pattern.source)
  if (shape === null || /[gyv]/.test(pattern.flags)) return undefined
  // SINGLE_CLASS's groups 1 and 2 are not optional: they are set whenever it matches.
  const quantifier = shape[2] as string
  const exactly = shape[3] === undefined ? undefined : Number(shape[3])
  const minLength = quantifier === '+' ? 1 : exactly ?? 0
  const maxLength = exactly === undefined ? Infinity : shape[4] === undefined ? exactly : shape[5] === '' ? Infinity : Number(shape[5])
  // The class on its own, with the pattern's flags: which single characters it takes.
  let member: RegExp
  try {
    // SINGLE_CLASS's group 1 is not optional.
    member = new RegExp(`^[${shape[1] as string}]$`, pattern.flags)
  } catch {
    return undefined
  }
  let members = ''
  for (let c = 0; c < 128; c++) {
    if (PLAIN_PATH_CHARS[c] === 1 && member.test(String.fromCharCode(c))) members += `\\x${c.toString(16).padStart(2, '0')}`
  }
  return { members, minLength, maxLength }
}

/**
 * lookup() and the gate's canonical check at once, for a target the gate reads plainly (see PathGate.plainEnd).
 * The walk picks edges on cheap evidence (a static label's length, first and last characters; a parameter runs to
 * the next `/`); then one native test of the node's check confirms the whole path: every label exactly, every
 * value in its class. Any answer it gives is lookup()'s; whenever that is not certain it gives up (undefined).
 * Parameter values stay in locals until the row is known; its node builds the params object in one step.
 */
function lookupPlain (root: MatchNode, method: string, target: string, start: number, end: number): MatchResult | undefined {
  let node = root
  let count = 0
  let v0 = ''
  let v1 = ''
  let v2 = ''
  let v3 = ''
  let more: string[] | undefined
  let from = start + 1
  for (;;) {
    let next: MatchNode | undefined
    let to = end
    if (node.staticMap !== undefined) {
      to = target.indexOf('/', from)
      if (to === -1 || to > end) to = end
      next = node.staticMap.get(target.slice(from, to))
    } else {
      const statics = node.statics
      const first = target.charCodeAt(from)
      for (let k = 0; k < statics.length; k++) {
        // k < statics.length (noUncheckedIndexedAccess cannot see the bound).
        const edge = statics[k] as StaticEdge
        const stop = from + edge.label.length
        // Labels at one node differ, so if this one is spelled here no other is (the check confirms it is).
        const bounded = stop === end || (stop < end && target.charCodeAt(stop) === 0x2f)
        if (first === edge.first && bounded && target.charCodeAt(stop - 1) === edge.last) {
          next = edge.node
          to = stop
          break
        }
      }
    }
    if (next === undefined) {
      const param = node.param
      // No row: certain only when the path so far is spelled as walked and the rest is plain too.
      if (param === undefined) return spelledTo(node, target, start, from - 1) && isPlainFrom(target, from, end) ? NO_ROUTE : undefined
      to = target.indexOf('/', from)
      if (to === -1 || to > end) to = end
      const length = to - from
      if (length === 0 || length > param.maxLength || isDotSegment(target, from, length)) return undefined
      const plain = param.plain
      if (plain !== undefined && (length < plain.minLength || length > plain.maxLength)) return undefined
      const value = target.slice(from, to)
      if (plain === undefined && !param.constraint.pattern.test(value)) return undefined
      // Only a value as long as a sibling static label can spell one (most ids are longer than any label). As in
      // lookup(), the constraint comes first: a value it rejects (`Info` for a lower-case class) is no route, not ambiguous.
      if (length <= node.longestStatic && node.staticLengths.has(length) && node.staticFolded.has(value.toLowerCase())) {
        const certain = param.constraint.pattern.test(value) && spelledTo(node, target, start, from - 1) && isPlainFrom(target, from, end)
        return certain ? node.ambiguous : undefined
      }
      if (count === 0) v0 = value
      else if (count === 1) v1 = value
      else if (count === 2) v2 = value
      else if (count === 3) v3 = value
      else (more ??= []).push(value)
      count++
      next = param.node
    }
    node = next
    if (to === end) break
    from = to + 1
  }
  if (!spelledTo(node, target, start, end)) return undefined
  if (node.methods.length === 0) return NO_ROUTE
  const route = rowFor(node, method)
  if (route === undefined) return node.noMethod
  const at = node.projectAt
  const projectId = at === 0 ? v0 : at === 1 ? v1 : at === -1 ? undefined : at === 2 ? v2 : at === 3 ? v3 : more?.[at - 4]
  return { kind: 'matched', route, params: node.params(v0, v1, v2, v3, more), projectId }
}

/** Whether target[start, to) is the path down to `node` as its check spells it (the root's is empty). */
function spelledTo (node: MatchNode, target: string, start: number, to: number): boolean {
  const check = node.check
  check.lastIndex = start
  return check.test(target) && check.lastIndex === to
}

function isDotSegment (target: string, from: number, length: number): boolean {
  return target.charCodeAt(from) === 0x2e && (length === 1 || (length === 2 && target.charCodeAt(from + 1) === 0x2e))
}

/** Whether target[from, end) is plainly canonical: `from` starts a segment (`/` before it) and every segment is. */
function isPlainFrom (target: string, from: number, end: number): boolean {
  PLAIN_SEGMENTS.lastIndex = from
  return PLAIN_SEGMENTS.test(target) && PLAIN_SEGMENTS.lastIndex === end
}
