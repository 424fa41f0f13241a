// The one list of option names: every option of the authorizer, of both adapters and the Fastify register
// options Fastify itself reads. Unknown names are configuration errors (a typo such as `unmatchd` must not
// silently fall back to a default). test/options.test.ts keeps this list equal to the option types.
import { closestName } from './did-you-mean.js'
import { describe, type ProblemList } from './errors.js'

export const OPTION_NAMES = Object.freeze([
  // createAuthorizer (AuthorizerOptions)
  'routes', 'prefix', 'unmatched', 'policies', 'projectIdPattern', 'now', 'crossProjectQuery',
  // both adapters (AdapterOptions)
  'grants', 'mode', 'onDecision', 'resolveEnterpriseProject', 'enterpriseProjectCache', 'resolverTimeout', 'bodyLimit',
  // the Express middleware (EvsAuthzExpressOptions)
  'logger',
  // Fastify's own register options, handed to every plugin with the plugin's options
  'logLevel', 'logSerializers'
] as const)

const KNOWN: readonly string[] = OPTION_NAMES

export type OptionName = typeof OPTION_NAMES[number]

/** Adds a problem, with the closest known name, for every own option name that is not an option. */
export function checkOptionNames (options: object, problems: ProblemList): void {
  if (typeof options !== 'object' || options === null) return
  for (const name of Object.keys(options)) {
    if (KNOWN.includes(name)) continue
    const suggestion = closestName(name, OPTION_NAMES)
    problems.add(describe(name), `unknown option${suggestion === undefined ? '' : `; did you mean '${suggestion}'?`}`)
  }
}
