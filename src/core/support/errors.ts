// Configuration errors: thrown once, at start-up, with a code and every problem found.
// Denials are never exceptions; they are Decision values (see decision.ts).

/** The codes of the errors evs-authz throws at start-up. */
export type ErrorCode = 'EVS_AUTHZ_ERR_ROUTE_TABLE' | 'EVS_AUTHZ_ERR_OPTIONS' | 'EVS_AUTHZ_ERR_POLICY' | 'EVS_AUTHZ_ERR_REGISTERED'

/** One thing wrong with a configuration input, located as precisely as possible. */
export interface ConfigurationProblem {
  /** Where the problem is: `routes[3].template`, `policies["My role"].Statement[0].Action`, ... */
  readonly at: string
  readonly message: string
}

/** A bad route table, option or policy catalogue. Lists every problem, not just the first. */
export class ConfigurationError extends Error {
  readonly code: ErrorCode
  readonly problems: readonly ConfigurationProblem[]

  constructor (code: ErrorCode, what: string, problems: readonly ConfigurationProblem[]) {
    const list = problems.map((p) => `  - ${p.at}: ${p.message}`).join('\n')
    super(`${what} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${list}`)
    this.name = 'ConfigurationError'
    this.code = code
    this.problems = problems
  }
}

/** Collects problems and throws them together, oslo.policy `check_rules` style. */
export class ProblemList {
  readonly items: ConfigurationProblem[] = []

  add (at: string, message: string): void {
    this.items.push({ at, message })
  }

  throwIfAny (code: ErrorCode, what: string): void {
    if (this.items.length > 0) throw new ConfigurationError(code, what, this.items)
  }
}

/** `JSON.stringify` for error messages: shows the received value without throwing. */
export function describe (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
