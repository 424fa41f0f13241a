// `evs-authz gateway --config FILE`: validate the file (every problem, exit 2), start, drain on SIGTERM /
// SIGINT and exit 0. Reached only through a dynamic import from the CLI, so the library never loads
// Fastify, the proxy or prom-client.
import { parseArgs } from 'node:util'
import { errorCode, errorMessage } from '../error-text.js'
import { GatewayConfigError, loadGatewayConfig } from './config.js'
import { buildGateway } from './server.js'

const HELP = `Usage: evs-authz gateway --config FILE

Runs the evs-authz gateway described by FILE (JSON; see the README, "In front of OpenStack (Keystone)").
The file is validated first: every problem is listed and the exit status is 2. SIGTERM or SIGINT drains
in-flight requests and exits 0.
`

interface Output { out: (text: string) => void, err: (text: string) => void }

/** Starts the gateway; resolves once it listens (or failed: the exit status is then set). */
export async function runGatewayCommand (argv: readonly string[], io: Output): Promise<number | undefined> {
  let file: string | undefined
  try {
    const options = { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } as const
    const parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options })
    if (parsed.values.help === true) {
      io.out(HELP)
      return 0
    }
    file = parsed.values.config
  } catch (error) {
    io.err(`evs-authz gateway: ${errorMessage(error)}\n${HELP}`)
    return 2
  }
  if (file === undefined) {
    io.err(`evs-authz gateway: --config FILE is required\n${HELP}`)
    return 2
  }
  let config
  try {
    config = loadGatewayConfig(file)
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error
    io.err(`evs-authz gateway: ${error.message}\n`)
    return 2
  }
  const gateway = await buildGateway(config)
  let urls
  try {
    urls = await gateway.start()
  } catch (error) {
    io.err(`evs-authz gateway: cannot listen: ${errorCode(error) ?? errorMessage(error)}\n`)
    await gateway.stop().catch(() => undefined)
    return 1
  }
  gateway.app.log.info({
    url: urls.url,
    metrics: urls.metricsUrl,
    upstream: config.upstream,
    identity: Object.keys(config.identity)[0]
  }, 'evs-authz gateway listening')
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    gateway.app.log.info({ signal }, 'evs-authz gateway: draining')
    gateway.stop().then(() => {
      process.exitCode = 0
    }, (error: unknown) => {
      io.err(`evs-authz gateway: stop failed: ${errorMessage(error)}\n`)
      process.exitCode = 1
    })
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  return undefined
}
