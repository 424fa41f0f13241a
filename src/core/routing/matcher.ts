// Our radix matcher over path segments, compiled once from the route table.
// Rules: static segments beat parameters; case-sensitive; exact (the gate already refused empty
// segments); one parameter per segment; no backtracking, because a parameter value that equals a
// sibling static segment (ignoring case) is refused outright rather than read as a parameter.
import type { ApiFamily, CompiledRoute, ParamConstraint } from './route-table.js'

interface StaticEdge {
  readonly label: string
  readonly node: MatchNode
}

interface ParamEdge {
  readonly name: string
  readonly constraint: ParamConstraint
  readonly maxLength: number
  readonly node: MatchNode
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
}

/** Outcome of a lookup. */
export type MatchResult =
  | { readonly kind: 'matched', readonly route: CompiledRoute, readonly params: Readonly<Record<string, string>> }
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
}

const LINEAR_SCAN_LIMIT = 8

function newNode (): MatchNode {
  return { statics: [], staticMap: undefined, staticFolded: new Set(), staticLengths: new Set(), param: undefined, routes: undefined }
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
          edge = { label: segment.value, node: newNode() }
          node.statics.push(edge)
          node.staticFolded.add(segment.value.toLowerCase())
          node.staticLengths.add(segment.value.length)
        }
        node = edge.node
      } else {
        const constraint = route.constraints[segment.name] as ParamConstraint
        node.param ??= { name: segment.name, constraint, maxLength: constraint.maxLength ?? 255, node: newNode() }
        node = node.param.node
      }
    }
    node.routes ??= new Map()
    node.routes.set(route.method, route)
  }
  freeze(root)
  return { match: (method, path, start) => lookup(root, method, path, start) }
}

function freeze (node: MatchNode): void {
  if (node.statics.length > LINEAR_SCAN_LIMIT) node.staticMap = new Map(node.statics.map((e) => [e.label, e.node]))
  for (const edge of node.statics) freeze(edge.node)
  if (node.param !== undefined) freeze(node.param.node)
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
      if (node.staticLengths.has(value.length) && node.staticFolded.has(value.toLowerCase())) return { kind: 'ambiguous', param: param.name }
      // A plain object: parameter names are validated identifiers (never __proto__ and friends), and
      // each route assigns them in the same order, so V8 keeps one fast shape per route.
      params ??= {}
      params[param.name] = value
      next = param.node
    }
    node = next
    i = to
  }
  const routes = node.routes
  if (routes === undefined) return { kind: 'no-route', rejectedParam: undefined }
  const route = routes.get(method === 'HEAD' ? 'GET' : method)
  if (route === undefined) {
    const first = routes.values().next().value as CompiledRoute
    return { kind: 'no-method', family: first.family, allowed: [...routes.keys()] }
  }
  return { kind: 'matched', route, params: params ?? EMPTY_PARAMS }
}

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
