// Cross-project list parameters. Cinder's list routes take `all_tenants` (and `all_projects`); against a
// backend that trusts the gateway (noauth Cinder, an admin service token) they list every project's
// resources. Both OpenStack CLIs send `all_tenants=1` when they look a snapshot up by name, so by default
// the parameters are removed from the forwarded URL (the lookup then stays in the caller's project);
// `crossProjectQuery: 'deny'` refuses such requests instead. Only an explicit grant of
// `evs:snapshots:listAllProjects` (no wildcard) keeps them. The parameters are found with the backend's
// own reading of the query (query.ts: `&` and `;`, decoding), in every spelling a lenient reader accepts.
// Decided here: the reason `cross-project-query` (with `crossProjectQuery: 'deny'`) and the forwarded URL of an allow.
import { denyDecision, type AllowDecision, type Decision } from '../decision/decision.js'
import { splitAction } from '../iam/action-pattern.js'
import { allowsExplicitly, type Grant } from '../iam/grants.js'
import type { ApiFamily } from '../routing/route-table.js'
import { parametersNamed, readQuery, securityName, withoutParameters, type QueryReading } from './query.js'

/** The action that keeps cross-project parameters; granted only by naming it exactly. */
export const ALL_PROJECTS_ACTION = 'evs:snapshots:listAllProjects'
const ALL_PROJECTS = splitAction(ALL_PROJECTS_ACTION)

/** Applies the rule to an allow: keep the parameters, strip them from the forwarded URL, or deny. */
export type CrossProjectRule = (
  decision: AllowDecision, url: string, query: QueryReading, grant: Grant | undefined, family: ApiFamily
) => Decision

/** Compiles the rule for the `crossProjectQuery` option. */
export function compileCrossProjectRule (mode: 'strip' | 'deny', now: () => number): CrossProjectRule {
  return function guardCrossProject (decision, url, query, grant, family) {
    const stripped = withoutCrossProjectParams(url, query)
    if (stripped === undefined) return decision
    if (grant !== undefined && allowsExplicitly(grant, ALL_PROJECTS, now)) return decision
    if (mode === 'deny') {
      const { route, params, projectId } = decision
      const matched = route === undefined ? undefined : { route, params, projectId }
      const detail = `all_tenants / all_projects need an explicit ${ALL_PROJECTS_ACTION} grant`
      return denyDecision('cross-project-query', decision.method, decision.path, family, { userId: decision.userId, detail, matched })
    }
    return { ...decision, forwardUrl: stripped, detail: 'cross-project query parameters removed' }
  }
}

/** Security names (see query.ts securityName) of the cross-project parameters. */
export const CROSS_PROJECT_PARAMS: ReadonlySet<string> = new Set(['all_tenants', 'all_projects'])

/** The URL without cross-project parameters, or undefined when it has none (or its query is undecodable). */
export function withoutCrossProjectParams (url: string, reading?: QueryReading): string | undefined {
  const q = url.indexOf('?')
  if (q === -1) return undefined
  const query = url.slice(q + 1)
  const read = reading ?? readQuery(query)
  if (read.kind !== 'read' || read.parameters.length === 0) return undefined
  const drop = parametersNamed(read, CROSS_PROJECT_PARAMS)
  if (drop.length === 0) return undefined
  const kept = withoutParameters(query, drop)
  return kept === '' ? url.slice(0, q) : `${url.slice(0, q)}?${kept}`
}

/**
 * A framework's already-parsed query (Fastify `request.query`, Express 4 `req.query`) without the
 * cross-project parameters, so handlers in the same app never see what the forwarded URL no longer has:
 * keys in any spelling (`all_tenants[]` included) are dropped, and a value that hides a `;`-joined pair
 * (`limit: '5;all_tenants=1'` from a parser that splits on `&` only) loses that pair.
 */
export function withoutCrossProjectKeys (parsed: Readonly<Record<string, unknown>>): Record<string, unknown> {
  // Same prototype as the framework's object (Fastify's is null-prototype); getPrototypeOf and create are untyped.
  const scrubbed = Object.create(Object.getPrototypeOf(parsed) as object | null) as Record<string, unknown>
  for (const key of Object.keys(parsed)) {
    if (CROSS_PROJECT_PARAMS.has(securityName(key))) continue
    const value = parsed[key]
    const scrub = (v: unknown): unknown => (typeof v === 'string' ? withoutHiddenPairs(v) : v)
    scrubbed[key] = Array.isArray(value) ? value.map(scrub) : scrub(value)
  }
  return scrubbed
}

function withoutHiddenPairs (value: string): string {
  if (!value.includes(';')) return value
  const query = `x=${value}`
  const read = readQuery(query)
  if (read.kind !== 'read') return value
  const drop = parametersNamed(read, CROSS_PROJECT_PARAMS)
  return drop.length === 0 ? value : withoutParameters(query, drop).slice(2)
}
