// Huawei IAM policy documents (Version 1.1 fine-grained policies, Version 1.0 RBAC roles), validated
// and compiled into statements. Anything we cannot evaluate makes an Allow not apply and a Deny apply.
import { compileActionPattern, type ActionParts, type ActionPredicate } from './action-pattern.js'
import { describe } from '../support/errors.js'
import { ownValue } from '../support/records.js'
import { compileGlob, globWithinLimits, type GlobMatcher } from './glob.js'

/** A policy statement as Huawei IAM writes it. */
export interface IamStatement {
  readonly Effect: 'Allow' | 'Deny'
  readonly Action: readonly string[] | string
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly Resource?: readonly string[] | string
  readonly Sid?: string
}

/** A Huawei IAM policy document. */
export interface IamPolicy {
  readonly Version: '1.1' | '1.0'
  readonly Statement: readonly IamStatement[]
  /** RBAC roles may list dependencies; they concern the console, not authorization, and are ignored. */
  readonly Depends?: readonly unknown[]
}

/** Request facts that conditions may test. */
export interface ConditionContext {
  /** Global condition values by lower-cased key (`g:username`, ...); absent when unknown. */
  readonly values: ReadonlyMap<string, string | boolean>
  readonly now: number
}

type ConditionResult = true | false | 'missing'
type CompiledCondition = (context: ConditionContext) => ConditionResult

export interface CompiledStatement {
  readonly effect: 'allow' | 'deny'
  readonly actions: readonly ActionPredicate[]
  readonly conditions: readonly CompiledCondition[]
  /** Unknown operator or key, or a Resource narrower than `*`: an Allow never applies, a Deny always does. */
  readonly uncertain: boolean
  /** Depends on the clock, so its outcome must not be memoized. */
  readonly timeDependent: boolean
  /** The wildcard-free action patterns it names, lower-cased (for grants that must be explicit). */
  readonly literals: ReadonlySet<string>
}

const STATEMENT_KEYS = new Set(['Effect', 'Action', 'Condition', 'Resource', 'Sid'])
const CONDITION_KEYS = new Set(['g:userid', 'g:username', 'g:domainname', 'g:projectname', 'g:mfapresent', 'g:currenttime'])

/** Compiles a policy; problems (with `at` paths relative to `at`) are appended to `problems`. */
export function compilePolicy (policy: unknown, at: string, problems: Array<{ at: string, message: string }>): CompiledStatement[] {
  if (typeof policy !== 'object' || policy === null) {
    problems.push({ at, message: `should be a policy document { Version, Statement }, instead got ${describe(policy)}` })
    return []
  }
  const version = ownValue(policy, 'Version')
  if (version !== '1.1' && version !== '1.0') {
    problems.push({ at: `${at}.Version`, message: `should be "1.1" or "1.0", instead got ${describe(version)}` })
  }
  const statements = ownValue(policy, 'Statement')
  if (!Array.isArray(statements)) {
    problems.push({ at: `${at}.Statement`, message: `should be an array of statements, instead got ${describe(statements)}` })
    return []
  }
  return statements.flatMap((statement, index) => {
    const compiled = compileStatement(statement, `${at}.Statement[${index}]`, problems)
    return compiled === undefined ? [] : [compiled]
  })
}

function compileStatement (statement: unknown, at: string,
  problems: Array<{ at: string, message: string }>): CompiledStatement | undefined {
  if (typeof statement !== 'object' || statement === null) {
    problems.push({ at, message: `should be a statement object, instead got ${describe(statement)}` })
    return undefined
  }
  const before = problems.length
  // Positions, not names: the names come from the document (for claims, token material).
  Object.keys(statement).forEach((key, i) => {
    const message = 'is not a statement element evs-authz understands (Effect, Action, Condition, Resource, Sid)'
    if (!STATEMENT_KEYS.has(key)) problems.push({ at: `${at}.<element ${i}>`, message })
  })
  const effect = ownValue(statement, 'Effect')
  if (effect !== 'Allow' && effect !== 'Deny') {
    problems.push({ at: `${at}.Effect`, message: `should be "Allow" or "Deny", instead got ${describe(effect)}` })
  }
  const action = ownValue(statement, 'Action')
  const patterns: unknown = typeof action === 'string' ? [action] : action
  const actions: ActionPredicate[] = []
  if (!Array.isArray(patterns) || patterns.length === 0) {
    problems.push({ at: `${at}.Action`, message: `should be a non-empty array of action patterns, instead got ${describe(action)}` })
  } else {
    for (const pattern of patterns) {
      const predicate = compileActionPattern(pattern)
      if (predicate !== undefined) actions.push(predicate)
      else {
        problems.push({
          at: `${at}.Action`,
          message: `${describe(pattern)} is not an action pattern (service:resource:operation, * within a segment)`
        })
      }
    }
  }
  // A pattern over GLOB_LIMITS is not evaluated at all: the statement becomes uncertain (fail closed).
  const overLimit = Array.isArray(patterns) && patterns.some((p) => typeof p === 'string' && !globWithinLimits(p))
  const resource = compileResource(ownValue(statement, 'Resource'), at, problems)
  const condition = compileConditions(ownValue(statement, 'Condition'), at, problems)
  if (problems.length > before || !Array.isArray(patterns)) return undefined
  return {
    effect: effect === 'Allow' ? 'allow' : 'deny',
    actions,
    conditions: condition.conditions,
    uncertain: condition.uncertain || resource.restricted || overLimit,
    timeDependent: condition.timeDependent,
    literals: new Set(patterns.filter((p): p is string => typeof p === 'string' && !p.includes('*')).map((p) => p.toLowerCase()))
  }
}

// EVS v2/v3 actions have no resource-level authorization; a Resource narrower than "everything"
// cannot be honoured, so it is treated as uncertain rather than silently widened.
function compileResource (resource: unknown, at: string, problems: Array<{ at: string, message: string }>): { restricted: boolean } {
  if (resource === undefined) return { restricted: false }
  const list = typeof resource === 'string' ? [resource] : resource
  if (!Array.isArray(list) || list.length === 0 || list.some((r) => typeof r !== 'string')) {
    problems.push({ at: `${at}.Resource`, message: `should be an array of resource strings, instead got ${describe(resource)}` })
    return { restricted: false }
  }
  return { restricted: !list.some((r: string) => r === '*' || /^[*]+(:[*]+)*$/.test(r)) }
}

interface CompiledConditions {
  conditions: CompiledCondition[]
  uncertain: boolean
  timeDependent: boolean
}

function compileConditions (condition: unknown, at: string, problems: Array<{ at: string, message: string }>): CompiledConditions {
  const result: CompiledConditions = { conditions: [], uncertain: false, timeDependent: false }
  if (condition === undefined) return result
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    problems.push({ at: `${at}.Condition`, message: `should be { Operator: { key: [values] } }, instead got ${describe(condition)}` })
    return result
  }
  for (const [i, [operator, entries]] of Object.entries(condition).entries()) {
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      problems.push({ at: `${at}.Condition.<operator ${i}>`, message: `should be { key: [values] }, instead got ${describe(entries)}` })
      continue
    }
    for (const [key, raw] of Object.entries(entries)) {
      const values = Array.isArray(raw) ? raw : [raw]
      const compiled = compileCondition(operator, key.toLowerCase(), values)
      if (compiled === undefined) {
        result.uncertain = true
      } else {
        result.conditions.push(compiled)
        if (key.toLowerCase() === 'g:currenttime') result.timeDependent = true
      }
    }
  }
  return result
}

type Test = (actual: string | boolean, expected: unknown) => boolean

// Maps, not object literals: operator names come from policy documents (claims), and an operator such as
// `constructor` or `toString` must be unknown (fail closed), not Object.prototype's function.
const STRING_TESTS: ReadonlyMap<string, Test> = new Map<string, Test>([
  ['StringEquals', (a, e) => typeof a === 'string' && a === e],
  ['StringEqualsIgnoreCase', (a, e) => typeof a === 'string' && typeof e === 'string' && a.toLowerCase() === e.toLowerCase()],
  ['StringStartWith', (a, e) => typeof a === 'string' && typeof e === 'string' && a.startsWith(e)],
  ['StringEndWith', (a, e) => typeof a === 'string' && typeof e === 'string' && a.endsWith(e)],
  // compileCondition replaces StringMatch's values by their compiled globs: a function here is a GlobMatcher.
  ['StringMatch', (a, e) => typeof a === 'string' && typeof e === 'function' && (e as GlobMatcher)(a)],
  ['Bool', (a, e) => typeof a === 'boolean' && (e === a || e === String(a))]
])

const DATE_TESTS: ReadonlyMap<string, (now: number, expected: number) => boolean> = new Map([
  ['DateLessThan', (now: number, e: number) => now < e],
  ['DateLessThanEquals', (now: number, e: number) => now <= e],
  ['DateGreaterThan', (now: number, e: number) => now > e],
  ['DateGreaterThanEquals', (now: number, e: number) => now >= e]
])

/** Compiles one operator/key pair; undefined when the operator or key is unknown (fail closed). */
function compileCondition (operator: string, key: string, values: readonly unknown[]): CompiledCondition | undefined {
  if (!CONDITION_KEYS.has(key) || values.length === 0) return undefined
  const ifExists = operator.endsWith('IfExists')
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator
  const missing: ConditionResult = ifExists ? true : 'missing'
  if (key === 'g:currenttime') {
    const test = DATE_TESTS.get(base)
    const times = values.map((v) => (typeof v === 'string' ? Date.parse(v) : NaN))
    if (test === undefined || times.some(Number.isNaN)) return undefined
    return (context) => times.some((t) => test(context.now, t))
  }
  const negated = /^StringNot/.test(base)
  const positive = negated ? base.replace('StringNot', 'String') : base
  const test = STRING_TESTS.get(positive)
  if (test === undefined) return undefined
  // StringMatch globs are compiled here, once, not per request; over GLOB_LIMITS the condition is unevaluable.
  if (positive === 'StringMatch') {
    if (values.some((v) => typeof v !== 'string' || !globWithinLimits(v))) return undefined
    values = values.map((v) => compileGlob(String(v)))
  }
  return (context) => {
    const actual = context.values.get(key)
    if (actual === undefined) return missing
    const anyMatch = values.some((expected) => test(actual, expected))
    return negated ? !anyMatch : anyMatch
  }
}

/** Whether a statement takes part in deciding `action` in this context. */
export function statementApplies (statement: CompiledStatement, action: ActionParts, context: ConditionContext): boolean {
  if (!statement.actions.some((matches) => matches(action))) return false
  const isAllow = statement.effect === 'allow'
  if (statement.uncertain) return !isAllow
  for (const condition of statement.conditions) {
    const result = condition(context)
    // A condition we cannot decide (its key is absent) never lets an Allow through, and never lifts a Deny.
    if (result === false || (result === 'missing' && isAllow)) return false
  }
  return true
}
