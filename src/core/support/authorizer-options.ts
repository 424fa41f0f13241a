// The options of createAuthorizer and their checks (the adapters add theirs to the same problem list).
import type { IamPolicy } from '../iam/policy.js'
import { projectIdPatternProblem } from '../routing/regex-safety.js'
import type { RouteDefinition } from '../routing/route-table.js'
import { describe, type ProblemList } from './errors.js'
import { checkOptionNames } from './option-names.js'

/** Options shared by every adapter. */
export interface AuthorizerOptions {
  /** The route table (default: the built-in snapshot table, `snapshotRoutes`). Extend it with `[...snapshotRoutes, ...yours]`. */
  readonly routes?: readonly RouteDefinition[]
  /** Path prefix in front of `/v2` and `/v3`, e.g. `/evs` (default: `''`). */
  readonly prefix?: string
  /** Unmatched paths in the guarded space: `'deny'` (default) or `'pass'` (never for snapshot-like paths). */
  readonly unmatched?: 'deny' | 'pass'
  /** Role name → policy document(s); adds to or replaces the built-in system roles. */
  readonly policies?: Readonly<Record<string, IamPolicy | readonly IamPolicy[]>>
  /** What `{project_id}` must look like (default: `/^[0-9a-f-]+$/`, Cinder's). */
  readonly projectIdPattern?: RegExp
  /** Clock for `g:CurrentTime` conditions (default: `Date.now`). */
  readonly now?: () => number
  /** `all_tenants` / `all_projects` in the query: `'strip'` them from the forwarded URL (default) or `'deny'`. */
  readonly crossProjectQuery?: 'strip' | 'deny'
}

const CANONICAL_PREFIX = /^(\/[A-Za-z0-9._~-]+)*$/
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/

/** Checks the scalar options, adding every problem to `problems`. */
export function checkAuthorizerOptions (options: AuthorizerOptions, problems: ProblemList): void {
  checkOptionNames(options, problems)
  const prefix = options.prefix ?? ''
  if (typeof prefix !== 'string' || !CANONICAL_PREFIX.test(prefix) || DOT_SEGMENT.test(prefix)) {
    problems.add('prefix', `should be '' or a canonical path without a trailing slash such as '/evs', instead got ${describe(prefix)}`)
  }
  const unmatched = options.unmatched ?? 'deny'
  if (unmatched !== 'deny' && unmatched !== 'pass') {
    problems.add('unmatched', `should be 'deny' or 'pass', instead got ${describe(unmatched)}`)
  }
  const projectIdPattern: unknown = options.projectIdPattern
  if (projectIdPattern !== undefined && !(projectIdPattern instanceof RegExp)) {
    problems.add('projectIdPattern', `should be a RegExp, instead got ${describe(projectIdPattern)}`)
  }
  // Checked here too (loadRouteTable checks it as well), so it is listed with the other option problems.
  const risk = projectIdPattern instanceof RegExp ? projectIdPatternProblem(projectIdPattern) : undefined
  if (risk !== undefined) problems.add('projectIdPattern', `${String(projectIdPattern)} ${risk}`)
  if (options.now !== undefined && typeof options.now !== 'function') {
    problems.add('now', 'should be a function returning epoch milliseconds')
  }
  const crossProject = options.crossProjectQuery ?? 'strip'
  if (crossProject !== 'strip' && crossProject !== 'deny') {
    problems.add('crossProjectQuery', `should be 'strip' or 'deny', instead got ${describe(crossProject)}`)
  }
}
