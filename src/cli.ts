// evs-authz command line: `routes`, `explain`, `check`. A thin shell over the same authorizer the
// adapters use. Exit status: 0 ok / allow, 1 deny, 2 usage or input error.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  ConfigurationError, createAuthorizer, denialResponse, formatRouteTable, snapshotRoutes,
  type Decision, type Inspection, type RouteTableFormat
} from './core/index.js'

const HELP = `Usage: evs-authz <command> [options]

Commands:
  routes [--format table|json|markdown]      Print the built-in route table (default: table).
  explain [--prefix P] [--json] METHOD PATH  Which route METHOD PATH matches and what it requires,
                                             or why it matches nothing or is rejected.
  check --claims FILE [--policies FILE] [--prefix P] [--unmatched deny|pass] [--json] METHOD PATH
                                             The full decision for a caller whose decoded token
                                             claims are in FILE (JSON). Exit 0 allow, 1 deny.
  gateway --config FILE                      Run the gateway FILE (JSON) describes: identity
                                             (Keystone or JWT), evs-authz, proxy, metrics.

Options:
  --claims FILE     decoded token claims (JSON): actions, policies, roles, project_id, sub, token
  --policies FILE   role catalogue additions (JSON object: role name -> IAM policy document(s))
  --prefix P        path prefix in front of /v2 and /v3 (default: none)
  --unmatched M     deny (default) or pass, as the plugin option
  --json            print machine-readable JSON
  -h, --help        show this help
  -v, --version     show the version

Exit status: 0 success or allow, 1 deny (check), 2 usage or input error.
`

class UsageError extends Error {}

interface Output { out: (text: string) => void, err: (text: string) => void }

/** Runs the CLI; returns the exit status (exported for tests). */
export function main (argv: readonly string[], io: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }): number {
  // The gateway runs until signalled and sets process.exitCode itself (its module loads Fastify lazily).
  if (argv[0] === 'gateway') {
    startGateway(argv.slice(1), io)
    return 0
  }
  try {
    return run(argv, io)
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigurationError) {
      io.err(`evs-authz: ${error.message}\nRun 'evs-authz --help' for usage.\n`)
      return 2
    }
    throw error
  }
}

function run (argv: readonly string[], io: Output): number {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string' },
        claims: { type: 'string' },
        policies: { type: 'string' },
        prefix: { type: 'string' },
        unmatched: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' }
      }
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    io.out(HELP)
    return 0
  }
  if (values.version === true) {
    io.out(`${readVersion()}\n`)
    return 0
  }
  const [command, ...rest] = positionals
  switch (command) {
    case 'routes': {
      expectArgs(rest, 0, 'routes takes no arguments')
      const format = (values.format ?? 'table') as RouteTableFormat
      if (!['table', 'json', 'markdown'].includes(format)) throw new UsageError(`--format should be table, json or markdown, instead got '${format}'`)
      io.out(`${formatRouteTable(snapshotRoutes, format)}\n`)
      return 0
    }
    case 'explain': {
      const [method, path] = expectArgs(rest, 2, 'explain needs METHOD and PATH, e.g. explain GET /v2/{project}/snapshots')
      const authorizer = createAuthorizer(authorizerOptions(values))
      const inspection = authorizer.inspect({ method: method.toUpperCase(), url: path })
      io.out(values.json === true ? `${JSON.stringify(explanationJson(inspection), null, 2)}\n` : explain(inspection))
      return 0
    }
    case 'check': {
      const [method, path] = expectArgs(rest, 2, 'check needs METHOD and PATH')
      if (values.claims === undefined) throw new UsageError('check needs --claims FILE (the decoded token claims as JSON)')
      const claims = readJson(values.claims, '--claims')
      const policies = values.policies === undefined ? undefined : readJson(values.policies, '--policies')
      const authorizer = createAuthorizer({ ...authorizerOptions(values), ...(policies === undefined ? {} : { policies: policies as never }) })
      const decision = authorizer.authorize({ method: method.toUpperCase(), url: path }, claims)
      io.out(values.json === true ? `${JSON.stringify(decisionJson(decision), null, 2)}\n` : describeDecision(decision))
      return decision.allowed ? 0 : 1
    }
    case undefined:
      io.out(HELP)
      return 2
    default:
      throw new UsageError(`unknown command '${command}' (expected routes, explain or check)`)
  }
}

function expectArgs (args: string[], count: number, message: string): [string, string] {
  if (args.length !== count) throw new UsageError(`${message}${args.length > count ? ` (unexpected: ${args.slice(count).join(' ')})` : ''}`)
  return args as [string, string]
}

function authorizerOptions (values: { prefix?: string | undefined, unmatched?: string | undefined }): { prefix?: string, unmatched?: 'deny' | 'pass' } {
  return {
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
    ...(values.unmatched === undefined ? {} : { unmatched: values.unmatched as 'deny' | 'pass' })
  }
}

function readJson (file: string, flag: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`${flag}: cannot read '${file}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${flag}: '${file}' is not valid JSON: ${(error as Error).message}`)
  }
}

function readVersion (): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function explain (inspection: Inspection): string {
  if (inspection.kind === 'outside') return 'outside the guarded API space ({prefix}/v2, {prefix}/v3): passes untouched\n'
  if (inspection.kind === 'decided') {
    const d = inspection.decision
    return d.allowed
      ? 'matches no route; passed through (unmatched: pass)\n'
      : `rejected: ${d.status} ${d.reason}${d.detail === undefined ? '' : ` (${d.detail})`}\n`
  }
  const match = inspection.match
  if (match.kind === 'no-route') {
    return `no route matches ${inspection.method} ${inspection.path}${match.rejectedParam === undefined ? '' : ` ({${match.rejectedParam}} does not fit its constraint)`}: denied 403 route-not-found\n`
  }
  if (match.kind === 'no-method') {
    return `no row for ${inspection.method} on this path (rows: ${match.allowed.join(', ')}): denied 403 method-not-allowed\n`
  }
  const route = match.route
  return [
    `route:     ${route.name}`,
    `row:       ${route.method} ${route.template}`,
    `actions:   ${route.actions.join(', ')} (all required)`,
    `EP:        ${route.enterpriseProject ? 'enterprise-project authorization supported' : 'IAM project only (enterprise-project grants do not count)'}`,
    `family:    ${route.family}`,
    `params:    ${Object.entries(match.params).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    ''
  ].join('\n')
}

function explanationJson (inspection: Inspection): unknown {
  if (inspection.kind === 'outside') return { guarded: false }
  if (inspection.kind === 'decided') return { guarded: true, decision: decisionJson(inspection.decision) }
  const match = inspection.match
  if (match.kind !== 'matched') return { guarded: true, match: match.kind, ...(match.kind === 'no-method' ? { allowedMethods: match.allowed } : { rejectedParam: match.rejectedParam }) }
  const r = match.route
  return { guarded: true, match: 'matched', route: { name: r.name, method: r.method, template: r.template, actions: r.actions, enterpriseProject: r.enterpriseProject, family: r.family }, params: { ...match.params } }
}

function decisionJson (decision: Decision): unknown {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    ...(decision.allowed ? {} : { status: decision.status, response: denialResponse(decision).body }),
    route: decision.route === undefined ? undefined : { name: decision.route.name, template: decision.route.template, method: decision.route.method },
    required: decision.required,
    missing: decision.missing,
    projectId: decision.projectId,
    userId: decision.userId,
    detail: decision.detail
  }
}

function describeDecision (decision: Decision): string {
  if (decision.reason === 'not-guarded') return 'allow: not-guarded (outside the guarded API space; passes untouched)\n'
  const lines = [`${decision.allowed ? 'allow' : `deny ${decision.status}`}: ${decision.reason}`]
  if (decision.route !== undefined) lines.push(`route:    ${decision.route.name} (${decision.route.method} ${decision.route.template})`)
  if (decision.required.length > 0) lines.push(`required: ${decision.required.join(', ')}`)
  if (decision.missing.length > 0) lines.push(`missing:  ${decision.missing.join(', ')}`)
  if (decision.detail !== undefined) lines.push(`detail:   ${decision.detail}`)
  if (!decision.allowed) lines.push(`answer:   ${JSON.stringify(denialResponse(decision).body)}`)
  return `${lines.join('\n')}\n`
}

function startGateway (argv: readonly string[], io: Output): void {
  import('./gateway/main.js').then(async ({ runGatewayCommand }) => {
    const status = await runGatewayCommand(argv, io)
    if (status !== undefined) process.exitCode = status
  }, (error: unknown) => {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND'
    io.err(missing
      ? `evs-authz gateway: ${(error as Error).message}\nThe gateway needs fastify, @fastify/http-proxy and prom-client (dependencies of evs-authz): reinstall without --omit, or npm install fastify @fastify/http-proxy prom-client\n`
      : `evs-authz gateway: ${(error as Error).message}\n`)
    process.exitCode = 1
  }).catch((error: unknown) => {
    io.err(`evs-authz gateway: ${(error as Error).message}\n`)
    process.exitCode = 1
  })
}
