// Reads what a decoded token grants: allowed actions, policy documents, catalogue roles, and the
// identity and project it speaks for. Understands flat JWT claims and Keystone/IAM token bodies.
import { compileActionPattern, type ActionParts } from './action-pattern.js'
import type { Catalogue } from './catalogue.js'
import { describe } from '../support/errors.js'
import { isRecord, ownValue } from '../support/records.js'
import { compilePolicy, statementApplies, type CompiledStatement, type ConditionContext, type IamPolicy } from './policy.js'

/** The claims shape evs-authz understands (all fields optional; see README "Grant formats"). */
export interface EvsClaims {
  readonly actions?: readonly string[]
  readonly policies?: readonly IamPolicy[]
  readonly roles?: ReadonlyArray<string | { readonly name: string }>
  readonly project_id?: string
  readonly sub?: string
  readonly user_id?: string
  /** Grants scoped to enterprise projects; they count only on EP-capable routes. */
  readonly enterprise_projects?: ReadonlyArray<{
    readonly id: string
    readonly actions?: readonly string[]
    readonly policies?: readonly IamPolicy[]
    readonly roles?: ReadonlyArray<string | { readonly name: string }>
  }>
  readonly token?: {
    readonly project?: { readonly id?: string, readonly name?: string }
    readonly user?: { readonly id?: string, readonly name?: string, readonly domain?: { readonly name?: string } }
    readonly roles?: ReadonlyArray<{ readonly name?: string }>
  }
  readonly [claim: string]: unknown
}

/** The actions of a route a grant does not allow project-wide, and the first one it explicitly denies. */
export interface RouteVerdict {
  readonly missing: readonly string[] | undefined
  readonly denied: string | undefined
}

/** The effect of the grant on one action. */
export type ActionEffect = 'allow' | 'deny' | 'none'

/** Statements granted at one scope (the IAM project, or one enterprise project). */
export interface StatementSet {
  readonly statements: readonly CompiledStatement[]
  /** Per-action outcomes, kept only when no statement depends on the clock. */
  readonly memo: Map<string, ActionEffect> | undefined
}

/** A compiled grant: everything needed to decide, computed once per claims object. */
export interface Grant extends StatementSet {
  readonly projectId: string | undefined
  readonly userId: string | undefined
  readonly conditionValues: ReadonlyMap<string, string | boolean>
  /** Enterprise-project-scoped statements by EP id: they count only on EP-capable routes, for that EP. */
  readonly enterpriseProjects: ReadonlyMap<string, StatementSet>
  /** Project-wide role names the catalogue does not know (they grant nothing; denials name them). */
  readonly unknownRoles: readonly string[]
  /**
   * This grant's project-wide verdict per route index (CompiledRoute.index), remembered by the one authorizer that
   * compiled the grant (its grant cache is its own); undefined when a statement depends on the clock.
   */
  readonly routeVerdicts: Array<RouteVerdict | undefined> | undefined
}

export type GrantResult =
  | { readonly kind: 'grant', readonly grant: Grant }
  | { readonly kind: 'no-credentials' }
  | { readonly kind: 'invalid-grants', readonly detail: string }

type Json = Record<string, unknown>

function objectAt (value: unknown, key: string): Json | undefined {
  const child = ownValue(value, key)
  return isRecord(child) ? child : undefined
}

function firstString (...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value
  return undefined
}

/** Compiles claims into a Grant. `null`/`undefined` mean "no token" (401); malformed grants deny. */
export function readGrants (claims: unknown, catalogue: Catalogue): GrantResult {
  if (claims === undefined || claims === null) return { kind: 'no-credentials' }
  if (!isRecord(claims)) {
    return { kind: 'invalid-grants', detail: `claims should be an object, instead got ${typeof claims}` }
  }
  const c = claims
  const token = objectAt(c, 'token')
  const tokenUser = objectAt(token, 'user')
  const tokenProject = objectAt(token, 'project')
  const problems: Array<{ at: string, message: string }> = []
  const unknownRoles: string[] = []
  const statements = grantedStatements(c, ownValue(token, 'roles'), '', catalogue, problems, unknownRoles)
  const enterpriseProjects = new Map<string, StatementSet>()
  const scoped = ownValue(c, 'enterprise_projects')
  if (scoped !== undefined) {
    if (!Array.isArray(scoped)) {
      problems.push({ at: 'enterprise_projects', message: 'should be an array of { id, actions?, policies?, roles? }' })
    } else {
      scoped.forEach((entry: unknown, i) => {
        const at = `enterprise_projects[${i}]`
        const id = ownValue(entry, 'id')
        // ownValue found an id, so the entry is a record (isRecord says so to the compiler).
        if (!isRecord(entry) || typeof id !== 'string' || id === '' || enterpriseProjects.has(id)) {
          problems.push({ at: `${at}.id`, message: 'should be a non-empty string, unique in the list' })
          return
        }
        const granted = grantedStatements(entry, undefined, `${at}.`, catalogue, problems)
        enterpriseProjects.set(id, { statements: granted, memo: granted.some((st) => st.timeDependent) ? undefined : new Map() })
      })
    }
  }
  if (problems.length > 0) {
    // Locations only: the messages may quote claim values, and claims are token material.
    return { kind: 'invalid-grants', detail: `malformed claims at ${[...new Set(problems.map((p) => p.at))].join(', ')}` }
  }

  const conditionValues = new Map<string, string | boolean>()
  const set = (key: string, value: string | undefined): void => { if (value !== undefined) conditionValues.set(key, value) }
  const userId = firstString(ownValue(c, 'sub'), ownValue(c, 'user_id'), ownValue(tokenUser, 'id'), ownValue(objectAt(c, 'user'), 'id'))
  set('g:userid', userId)
  set('g:username', firstString(ownValue(tokenUser, 'name'), ownValue(c, 'user_name'), ownValue(c, 'preferred_username')))
  set('g:domainname', firstString(ownValue(objectAt(tokenUser, 'domain'), 'name'), ownValue(c, 'domain_name')))
  set('g:projectname', firstString(ownValue(tokenProject, 'name'), ownValue(c, 'project_name')))
  const mfa = ownValue(c, 'mfa_present')
  if (typeof mfa === 'boolean') conditionValues.set('g:mfapresent', mfa)

  return {
    kind: 'grant',
    grant: {
      projectId: firstString(ownValue(c, 'project_id'), ownValue(tokenProject, 'id'), ownValue(objectAt(c, 'project'), 'id')),
      userId,
      statements,
      memo: statements.some((s) => s.timeDependent) ? undefined : new Map(),
      conditionValues,
      enterpriseProjects,
      unknownRoles,
      routeVerdicts: statements.some((s) => s.timeDependent) ? undefined : []
    }
  }
}

/** `actions`, `policies` and `roles` of one scope (the claims themselves, or one enterprise_projects entry). */
function grantedStatements (
  scope: Json, tokenRoles: unknown, at: string, catalogue: Catalogue, problems: Array<{ at: string, message: string }>,
  unknownRoles: string[] = []
): CompiledStatement[] {
  const statements: CompiledStatement[] = []
  const actions = ownValue(scope, 'actions')
  if (actions !== undefined) {
    if (!Array.isArray(actions)) {
      problems.push({ at: `${at}actions`, message: 'should be an array of action patterns' })
    } else {
      const before = problems.length
      actions.forEach((pattern, i) => {
        if (compileActionPattern(pattern) === undefined) {
          problems.push({ at: `${at}actions[${i}]`, message: 'is not an action pattern' })
        }
      })
      if (actions.length > 0 && problems.length === before) {
        statements.push(...compilePolicy({ Version: '1.1', Statement: [{ Effect: 'Allow', Action: actions }] }, `${at}actions`, problems))
      }
    }
  }
  const policies = ownValue(scope, 'policies')
  if (policies !== undefined) {
    if (!Array.isArray(policies)) {
      problems.push({ at: `${at}policies`, message: `should be an array of policy documents, instead got ${describe(policies)}` })
    } else policies.forEach((policy, i) => statements.push(...compilePolicy(policy, `${at}policies[${i}]`, problems)))
  }
  for (const role of roleNames(ownValue(scope, 'roles'), tokenRoles, at, problems)) {
    const granted = catalogue.get(role)
    if (granted !== undefined) statements.push(...granted)
    else unknownRoles.push(role)
  }
  return statements
}

function roleNames (roles: unknown, tokenRoles: unknown, prefix: string, problems: Array<{ at: string, message: string }>): string[] {
  const names: string[] = []
  for (const [at, list] of [[`${prefix}roles`, roles], ['token.roles', tokenRoles]] as const) {
    if (list === undefined) continue
    if (!Array.isArray(list)) {
      problems.push({ at, message: `should be an array of role names, instead got ${describe(list)}` })
      continue
    }
    for (const role of list) {
      const name = typeof role === 'string' ? role : ownValue(objectAt({ role }, 'role'), 'name')
      if (typeof name === 'string') names.push(name)
      else problems.push({ at, message: `${describe(role)} is not a role name or { name }` })
    }
  }
  return names
}

/** Whether an unconditional Allow names `action` exactly (no wildcard) and no Deny covers it. */
export function allowsExplicitly (grant: Grant, action: ActionParts, now: () => number): boolean {
  const literal = action.name.toLowerCase()
  const named = grant.statements.some((s) => s.effect === 'allow' && !s.uncertain && s.conditions.length === 0 && s.literals.has(literal))
  return named && effectOf(grant, action, now) === 'allow'
}

/** The verdict on route `index` found before, if any (only remembered for clock-free grants). */
export function rememberedVerdict (grant: Grant, index: number): RouteVerdict | undefined {
  return grant.routeVerdicts?.[index]
}

/** Remembers the verdict on route `index` and returns it (remembers nothing for grants that depend on the clock). */
export function rememberVerdict (grant: Grant, index: number, verdict: RouteVerdict): RouteVerdict {
  if (grant.routeVerdicts !== undefined) grant.routeVerdicts[index] = verdict
  return verdict
}

/** Explicit Deny wins, then Allow, else none (implicit deny). Order of statements never matters. */
export function effectOf (grant: Grant, action: ActionParts, now: () => number): ActionEffect {
  return effectInSet(grant, grant, action, now)
}

/** The effect in one enterprise project: project-wide and EP-scoped statements together (a Deny in either wins). */
export function effectInEnterpriseProject (grant: Grant, enterpriseProjectId: string, action: ActionParts,
  now: () => number): ActionEffect {
  const projectWide = effectOf(grant, action, now)
  const scoped = grant.enterpriseProjects.get(enterpriseProjectId)
  if (projectWide === 'deny' || scoped === undefined) return projectWide
  const inScope = effectInSet(grant, scoped, action, now)
  return inScope === 'none' ? projectWide : inScope
}

function effectInSet (grant: Grant, set: StatementSet, action: ActionParts, now: () => number): ActionEffect {
  const memoized = set.memo?.get(action.name)
  if (memoized !== undefined) return memoized
  const context: ConditionContext = { values: grant.conditionValues, now: set.memo === undefined ? now() : 0 }
  let effect: ActionEffect = 'none'
  for (const statement of set.statements) {
    if (!statementApplies(statement, action, context)) continue
    if (statement.effect === 'deny') {
      effect = 'deny'
      break
    }
    effect = 'allow'
  }
  set.memo?.set(action.name, effect)
  return effect
}
