// IAM action patterns (`evs:*:get*`, `*:*:Get*`, `identity:*`, `*`), compiled once into predicates.
// Service compared exactly; resource type and operation case-insensitively (Huawei IAM policy syntax).
// `*` matches any run of characters within one segment; a trailing lone `*` segment covers the rest.
import { compileGlob } from './glob.js'

/** A required action, split and case-folded once at registration. */
export interface ActionParts {
  /** The action as the table names it (`evs:snapshots:get`). */
  readonly name: string
  readonly service: string
  readonly resource: string
  readonly operation: string
}

export type ActionPredicate = (action: ActionParts) => boolean

// `?` is not a documented wildcard in Huawei IAM, so it is an ordinary (literal) character here.
const PATTERN_SEGMENT = /^[A-Za-z0-9_*.?-]+$/

/** Splits a table action (`evs:snapshots:get`) into folded parts. */
export function splitAction (action: string): ActionParts {
  const [service = '', resource = '', operation = ''] = action.split(':')
  return { name: action, service, resource: resource.toLowerCase(), operation: operation.toLowerCase() }
}

/** Compiles a grant pattern, or returns undefined when it is not a valid pattern. */
export function compileActionPattern (pattern: unknown): ActionPredicate | undefined {
  if (typeof pattern !== 'string') return undefined
  if (pattern === '*') return matchAll
  const segments = pattern.split(':')
  if (segments.length > 3 || segments.some((s) => !PATTERN_SEGMENT.test(s))) return undefined
  if (segments.length < 3) {
    // `identity:*` means every action of the service; `evs:snapshots` alone names nothing.
    if (segments.at(-1) !== '*') return undefined
    while (segments.length < 3) segments.push('*')
  }
  const [service = '', resource = '', operation = ''] = segments
  const matchService = compileGlob(service)
  const matchResource = compileGlob(resource.toLowerCase())
  const matchOperation = compileGlob(operation.toLowerCase())
  return (action) => matchService(action.service) && matchResource(action.resource) && matchOperation(action.operation)
}

const matchAll: ActionPredicate = () => true
