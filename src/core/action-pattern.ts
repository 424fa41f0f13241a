// IAM action patterns (`evs:*:get*`, `*:*:Get*`, `identity:*`, `*`), compiled once into predicates.
// Service compared exactly; resource type and operation case-insensitively (Huawei IAM policy syntax).
// `*` matches any run of characters within one segment; a trailing lone `*` segment covers the rest.

/** A required action, split and case-folded once at registration. */
export interface ActionParts {
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
  return { service, resource: resource.toLowerCase(), operation: operation.toLowerCase() }
}

/** Compiles a grant pattern, or returns undefined when it is not a valid pattern. */
export function compileActionPattern (pattern: string): ActionPredicate | undefined {
  if (typeof pattern !== 'string') return undefined
  if (pattern === '*') return matchAll
  const segments = pattern.split(':')
  if (segments.length > 3 || segments.some((s) => !PATTERN_SEGMENT.test(s))) return undefined
  if (segments.length < 3) {
    // `identity:*` means every action of the service; `evs:snapshots` alone names nothing.
    if (segments.at(-1) !== '*') return undefined
    while (segments.length < 3) segments.push('*')
  }
  const [service, resource, operation] = segments as [string, string, string]
  const matchService = compileGlob(service)
  const matchResource = compileGlob(resource.toLowerCase())
  const matchOperation = compileGlob(operation.toLowerCase())
  return (action) => matchService(action.service) && matchResource(action.resource) && matchOperation(action.operation)
}

const matchAll: ActionPredicate = () => true

function compileGlob (glob: string): (value: string) => boolean {
  const star = glob.indexOf('*')
  if (star === -1) return (value) => value === glob
  if (glob === '*') return () => true
  const rest = glob.slice(star + 1)
  if (!rest.includes('*')) {
    const head = glob.slice(0, star)
    if (rest === '') return (value) => value.startsWith(head)
    if (head === '') return (value) => value.endsWith(rest)
    return (value) => value.length >= head.length + rest.length && value.startsWith(head) && value.endsWith(rest)
  }
  const source = glob.split('*').map((part) => part.replace(/[.?]/g, '\\$&')).join('.*')
  const regex = new RegExp(`^${source}$`)
  return (value) => regex.test(value)
}
