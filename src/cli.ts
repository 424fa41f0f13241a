// evs-authz command line: `routes`, `explain`, `check`, `gateway`. A thin shell over the same authorizer the
// adapters use. Exit status: 0 ok / allow, 1 deny, 2 usage or input error (always one line, never a stack).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { errorCode, errorMessage } from './error-text.js'
import {
  ConfigurationError, closestName, createAuthorizer, denialResponse, formatRouteTable, ownValue, snapshotRoutes,
  type Authorizer, type AuthorizerOptions, type Decision, type Inspection, type RequestTarget, type RouteTableFormat
} from './core/index.js'

// One table of commands and their flags: the help text is printed from it and parsing checks against it,
// so the two cannot disagree.
const FLAGS = {
  format: { type: 'string', value: 'table|json|markdown', help: 'output format (default: table)' },
  claims: { type: 'string', value: 'FILE', help: 'decoded token claims (JSON): actions, policies, roles, project_id, sub, token' },
  policies: { type: 'string', value: 'FILE', help: 'role catalogue additions (JSON object: role name -> IAM policy document(s))' },
  ep: { type: 'string', value: 'ID', help: 'the enterprise project of every snapshot and volume the request names' },
  body: { type: 'string', value: 'FILE', help: 'the JSON request body (create and rollback name their volume in it)' },
  prefix: { type: 'string', value: 'P', help: 'path prefix in front of /v2 and /v3, starting with / (default: none)' },
  unmatched: { type: 'string', value: 'deny|pass', help: 'guarded paths that match no row: deny (default) or pass' },
  json: { type: 'boolean', value: '', help: 'print machine-readable JSON' },
  config: { type: 'string', value: 'FILE', help: 'the gateway configuration (JSON): listen, upstream, identity, policies, authz, metrics' }
} as const
type Flag = keyof typeof FLAGS
const isFlag = (name: string): name is Flag => Object.hasOwn(FLAGS, name)
const FORMATS: readonly RouteTableFormat[] = ['table', 'json', 'markdown']

interface Command { readonly args: string, readonly flags: readonly Flag[], readonly required?: readonly Flag[], readonly help: string }

const COMMANDS: Readonly<Record<string, Command>> = {
  routes: { args: '', flags: ['format'], help: 'Print the built-in route table.' },
  explain: {
    args: 'METHOD PATH',
    flags: ['prefix', 'unmatched', 'json'],
    help: 'Which route METHOD PATH matches and what it requires, or why it matches nothing or is rejected.'
  },
  check: {
    args: 'METHOD PATH',
    flags: ['claims', 'policies', 'ep', 'body', 'prefix', 'unmatched', 'json'],
    required: ['claims'],
    help: 'The full decision for a caller whose decoded token claims are in FILE. Exit 0 allow, 1 deny.'
  },
  // Dispatched in main() before parsing (the gateway reads its own arguments); listed here for the help text.
  gateway: {
    args: '',
    flags: ['config'],
    required: ['config'],
    help: 'Run the gateway FILE describes: identity (Keystone or JWT), evs-authz, proxy, metrics.'
  }
}

function usage (): string {
  const lines = ['Usage: evs-authz <command> [options]', '', 'Commands:']
  for (const [name, command] of Object.entries(COMMANDS)) {
    const flags = command.flags.map((f) => {
      const text = `--${f}${FLAGS[f].value === '' ? '' : ` ${FLAGS[f].value}`}`
      return command.required?.includes(f) === true ? text : `[${text}]`
    })
    lines.push(`  ${[name, ...flags, command.args].filter((part) => part !== '').join(' ')}`, `      ${command.help}`)
  }
  lines.push('', 'Options:')
  for (const [name, flag] of Object.entries(FLAGS)) {
    lines.push(`  ${`--${name}${flag.value === '' ? '' : ` ${flag.value}`}`.padEnd(30)}${flag.help}`)
  }
  lines.push(`  ${'-h, --help'.padEnd(30)}show this help`, `  ${'-v, --version'.padEnd(30)}show the version`, '')
  lines.push(
    'Options may come before or after METHOD PATH; --name=value also works.',
    'Exit status: 0 success or allow, 1 deny (check), 2 usage or input error (one line on stderr).', ''
  )
  return lines.join('\n')
}

class UsageError extends Error {}

interface Output { out: (text: string) => void, err: (text: string) => void }

/** Runs the CLI; returns the exit status (exported for tests). Never throws: any failure is exit 2 with one line. */
export function main (argv: readonly string[],
  io: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }): number {
  // The gateway runs until signalled and sets process.exitCode itself (its module loads Fastify lazily).
  if (argv[0] === 'gateway') {
    startGateway(argv.slice(1), io)
    return 0
  }
  try {
    return run(argv, io)
  } catch (error) {
    const unexpected = (): string => `cannot evaluate this input: ${error instanceof Error ? error.message : String(error)}`
    const message = error instanceof ConfigurationError
      ? `${error.code}: ${error.problems.map((p) => `${p.at}: ${p.message}`).join('; ')}`
      : error instanceof UsageError ? error.message : unexpected()
    io.err(`evs-authz: ${oneLine(message)} (see evs-authz --help)\n`)
    return 2
  }
}

function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 2000)
}

/** parseArgs's refusal in our words: its own text for an unknown option quotes it unevenly (`as in '-- "--bogus"`). */
function usageProblem (error: unknown): string {
  const unknown = errorCode(error) === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /^Unknown option '([^']*)'/.exec(errorMessage(error)) : null
  if (unknown === null) return errorMessage(error)
  const option = unknown[1] ?? ''
  const name = option.startsWith('--') ? option.slice(2).split('=')[0] ?? '' : undefined
  const suggestion = name === undefined ? undefined : closestName(name, [...Object.keys(FLAGS), 'help', 'version'])
  return `unknown option '${option}'${suggestion === undefined ? '' : ` (did you mean --${suggestion}?)`}`
}

function run (argv: readonly string[], io: Output): number {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type }])),
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' }
      }
    })
  } catch (error) {
    throw new UsageError(usageProblem(error))
  }
  // parseArgs's types lose the flag names through Object.fromEntries; strict: true lets no other name through.
  const values = parsed.values as Partial<Record<Flag, string | boolean>> & { help?: boolean, version?: boolean }
  const positionals = parsed.positionals
  if (values.help === true) {
    io.out(usage())
    return 0
  }
  if (values.version === true) {
    io.out(`${readVersion()}\n`)
    return 0
  }
  const [command, ...rest] = positionals
  if (command === undefined) {
    io.out(usage())
    return 2
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
  if (spec === undefined) throw new UsageError(`unknown command '${command}' (expected ${Object.keys(COMMANDS).join(', ')})`)
  const text = checkFlags(command, spec.flags, spec.required ?? [], values)
  switch (command) {
    case 'routes': {
      if (rest.length !== 0) throw argumentsError(rest, 0, 'routes takes no arguments')
      const requested = text.format ?? 'table'
      const format = FORMATS.find((name) => name === requested)
      if (format === undefined) throw new UsageError(`--format should be table, json or markdown, instead got '${requested}'`)
      io.out(`${formatRouteTable(snapshotRoutes, format)}\n`)
      return 0
    }
    case 'explain': {
      const [method, path] = methodAndPath(rest, 'explain needs METHOD and PATH, e.g. explain GET /v2/{project}/snapshots')
      const authorizer = createAuthorizer(authorizerOptions(text))
      const inspection = authorizer.inspect({ method: method.toUpperCase(), url: path })
      io.out(values.json === true ? `${JSON.stringify(explanationJson(inspection), null, 2)}\n` : explain(inspection))
      return 0
    }
    case 'check': {
      const [method, path] = methodAndPath(rest, 'check needs METHOD and PATH')
      const claims = readJson(text.claims ?? '', '--claims')
      const policies = text.policies === undefined ? undefined : readJson(text.policies, '--policies')
      const body = text.body === undefined ? undefined : readJson(text.body, '--body')
      const authorizer = createAuthorizer({
        ...authorizerOptions(text),
        // Unchecked JSON: createAuthorizer checks every policy document and throws ConfigurationError listing the problems.
        ...(policies === undefined ? {} : { policies: policies as NonNullable<AuthorizerOptions['policies']> })
      })
      // The request check models is a JSON API call (the only body type the gate accepts on judged writes).
      const target = { method: method.toUpperCase(), url: path, headers: { 'content-type': 'application/json' } }
      const decision = checkDecision(authorizer, target, claims, text.ep, body)
      io.out(values.json === true ? `${JSON.stringify(decisionJson(decision), null, 2)}\n` : describeDecision(decision))
      return decision.kind === 'allow' ? 0 : 1
    }
    case 'gateway':
      throw new UsageError('write the command first: evs-authz gateway --config FILE')
    /* c8 ignore next 2: every name in COMMANDS has a case above */
    default:
      throw new UsageError(`unknown command '${command}'`)
  }
}

/** Refuses flags the command does not take and missing required ones; returns the string flags. */
function checkFlags (
  command: string, allowed: readonly Flag[], required: readonly Flag[], values: Partial<Record<Flag, string | boolean>>
): Partial<Record<Flag, string>> {
  const given = Object.keys(values).filter(isFlag).filter((f) => values[f] !== undefined)
  const foreign = given.filter((f) => !allowed.includes(f))
  const named = (flags: readonly Flag[]): string => flags.map((f) => `--${f}`).join(', ')
  if (foreign.length > 0) throw new UsageError(`${command} does not take ${named(foreign)} (it takes ${named(allowed)})`)
  for (const flag of required) {
    if (values[flag] === undefined) throw new UsageError(`${command} needs --${flag} ${FLAGS[flag].value} (${FLAGS[flag].help})`)
  }
  // A value that looks like the METHOD means the flag swallowed it: `--prefix GET /v2/...`.
  const prefix = values.prefix
  if (typeof prefix === 'string' && prefix !== '' && !prefix.startsWith('/')) {
    throw new UsageError(`--prefix should start with '/', instead got '${prefix}' (write --prefix=/evs; --prefix= for none)`)
  }
  const unmatched = values.unmatched
  if (typeof unmatched === 'string' && unmatched !== 'deny' && unmatched !== 'pass') {
    throw new UsageError(`--unmatched should be deny or pass, instead got '${unmatched}'`)
  }
  const strings: Partial<Record<Flag, string>> = {}
  for (const flag of given) {
    const value = values[flag]
    if (typeof value === 'string') strings[flag] = value
  }
  return strings
}

/**
 * The adapters' decision, offline: EP-scoped questions are answered with `--ep` as the enterprise project of
 * every snapshot and volume the request names, and `--body` as the request body.
 */
function checkDecision (authorizer: Authorizer, target: RequestTarget, claims: unknown, ep: string | undefined, body: unknown): Decision {
  const inspection = authorizer.inspect(target)
  if (inspection.kind !== 'pending') return authorizer.authorize(target, claims)
  const result = authorizer.decide(inspection, claims)
  if (result.kind !== 'enterprise-project') return result
  if (result.needsBody && body === undefined) {
    throw new UsageError(`${result.route.name} reads its enterprise project from the JSON body: give --body FILE`)
  }
  const targets = authorizer.enterpriseTargets(result, body === undefined ? undefined : { kind: 'json', value: body })
  if (targets.kind === 'deny') return targets
  if (targets.lookups.length > 0 && ep === undefined) {
    const what = targets.lookups.map((l) => `${l.kind} ${l.id}`).join(', ')
    throw new UsageError(`the decision needs the enterprise project of ${what}: give --ep ID`)
  }
  return authorizer.answer(result, targets, targets.lookups.map((lookup) => ({ kind: 'found', lookup, id: ep ?? '', cached: false })))
}

/** The usage error for a command that takes `count` arguments and was given `args`. */
function argumentsError (args: readonly string[], count: number, message: string): UsageError {
  return new UsageError(`${message}${args.length > count ? ` (unexpected: ${args.slice(count).join(' ')})` : ''}`)
}

function methodAndPath (args: readonly string[], message: string): [string, string] {
  const [method, path, ...unexpected] = args
  if (method === undefined || path === undefined || unexpected.length > 0) throw argumentsError(args, 2, message)
  return [method, path]
}

function authorizerOptions (values: Partial<Record<Flag, string>>): { prefix?: string, unmatched?: 'deny' | 'pass' } {
  return {
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
    // checkFlags has refused any other value.
    ...(values.unmatched === 'deny' || values.unmatched === 'pass' ? { unmatched: values.unmatched } : {})
  }
}

function readJson (file: string, flag: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`${flag}: cannot read '${file}': ${errorCode(error) ?? errorMessage(error)}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${flag}: '${file}' is not valid JSON: ${errorMessage(error)}`)
  }
}

function readVersion (): string {
  return String(ownValue(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')), 'version'))
}

function explain (inspection: Inspection): string {
  if (inspection.kind === 'outside') return 'outside the guarded API space ({prefix}/v2, {prefix}/v3): passes untouched\n'
  if (inspection.kind !== 'pending') {
    const d = inspection
    return d.kind === 'allow'
      ? 'matches no route; passed through (unmatched: pass)\n'
      : `rejected: ${d.status} ${d.reason}${d.detail === undefined ? '' : ` (${d.detail})`}\n`
  }
  const match = inspection.match
  if (match.kind === 'no-route') {
    const constraint = match.rejectedParam === undefined ? '' : ` ({${match.rejectedParam}} does not fit its constraint)`
    return `no route matches ${inspection.method} ${inspection.path}${constraint}: denied 403 route-not-found\n`
  }
  if (match.kind === 'no-method') {
    return `no row for ${inspection.method} on this path (rows: ${match.allowed.join(', ')}): denied 403 method-not-allowed\n`
  }
  const route = match.route
  return [
    `route:     ${route.name}`,
    `row:       ${route.method} ${route.template}`,
    `actions:   ${route.actions.join(', ')} (all required)`,
    `EP:        ${route.enterpriseProject
      ? 'enterprise-project authorization supported'
      : 'IAM project only (enterprise-project grants do not count)'}`,
    `family:    ${route.family}`,
    `params:    ${Object.entries(match.params).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    ''
  ].join('\n')
}

function explanationJson (inspection: Inspection): unknown {
  if (inspection.kind === 'outside') return { guarded: false }
  if (inspection.kind !== 'pending') return { guarded: true, decision: decisionJson(inspection) }
  const match = inspection.match
  if (match.kind !== 'matched') {
    return {
      guarded: true,
      match: match.kind,
      ...(match.kind === 'no-method'
        ? { allowedMethods: match.allowed }
        : { rejectedParam: match.rejectedParam })
    }
  }
  const r = match.route
  return {
    guarded: true,
    match: 'matched',
    route: {
      name: r.name,
      method: r.method,
      template: r.template,
      actions: r.actions,
      enterpriseProject: r.enterpriseProject,
      family: r.family
    },
    params: { ...match.params }
  }
}

function decisionJson (decision: Decision): unknown {
  return {
    // The CLI's JSON keeps `allowed` (a boolean is what a shell script tests).
    allowed: decision.kind === 'allow',
    reason: decision.reason,
    ...(decision.kind === 'allow' ? {} : { status: decision.status, response: denialResponse(decision).body }),
    route: decision.route === undefined
      ? undefined
      : { name: decision.route.name, template: decision.route.template, method: decision.route.method },
    required: decision.required,
    missing: decision.missing,
    projectId: decision.projectId,
    userId: decision.userId,
    detail: decision.detail
  }
}

function describeDecision (decision: Decision): string {
  if (decision.reason === 'not-guarded') return 'allow: not-guarded (outside the guarded API space; passes untouched)\n'
  const lines = [`${decision.kind === 'allow' ? 'allow' : `deny ${decision.status}`}: ${decision.reason}`]
  if (decision.route !== undefined) lines.push(`route:    ${decision.route.name} (${decision.route.method} ${decision.route.template})`)
  if (decision.required.length > 0) lines.push(`required: ${decision.required.join(', ')}`)
  if (decision.missing.length > 0) lines.push(`missing:  ${decision.missing.join(', ')}`)
  if (decision.detail !== undefined) lines.push(`detail:   ${decision.detail}`)
  if (decision.kind === 'deny') lines.push(`answer:   ${JSON.stringify(denialResponse(decision).body)}`)
  return `${lines.join('\n')}\n`
}

function startGateway (argv: readonly string[], io: Output): void {
  import('./gateway/main.js').then(async ({ runGatewayCommand }) => {
    const status = await runGatewayCommand(argv, io)
    if (status !== undefined) process.exitCode = status
  }, (error: unknown) => {
    const hint = errorCode(error) === 'ERR_MODULE_NOT_FOUND'
      ? 'The gateway needs fastify, @fastify/http-proxy and prom-client (dependencies of evs-authz): ' +
        'reinstall without --omit, or npm install fastify @fastify/http-proxy prom-client\n'
      : ''
    io.err(`evs-authz gateway: ${errorMessage(error)}\n${hint}`)
    process.exitCode = 1
  }).catch((error: unknown) => {
    io.err(`evs-authz gateway: ${errorMessage(error)}\n`)
    process.exitCode = 1
  })
}
