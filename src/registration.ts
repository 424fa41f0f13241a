// Mistakes made when mounting an adapter, caught at registration: a second evs-authz in the same Fastify
// instance (it would judge and log every request twice; Fastify would crash on the duplicate decorator),
// and a logger that drops the decision lines (Fastify's default is `logger: false`).
import type { FastifyInstance } from 'fastify'
import { ConfigurationError } from './core/index.js'

/** Levels at which denial lines (info) are still written. */
const WRITES_INFO = new Set(['trace', 'debug', 'info'])

/** The code of the process warning emitted when decision lines would vanish. */
export const SILENT_LOGGER_WARNING = 'EVS_AUTHZ_WARN_SILENT_LOGGER'

/** Warns (once per call) when a logger at `level` would drop denial lines; `what` names the logger. */
export function warnIfSilent (level: unknown, what: string): void {
  if (typeof level === 'string' && WRITES_INFO.has(level)) return
  process.emitWarning(
    `evs-authz: ${what} is ${level === undefined ? 'disabled' : `at level ${String(level)}`}, so decision lines ` +
    '(denials at info, allows at debug) are not written. Give it a level of info or debug, e.g. Fastify({ logger: true }).',
    { code: SILENT_LOGGER_WARNING }
  )
}

/** The error that rejects ready() when evs-authz is already registered here or in a parent; warns on a silent logger. */
export function checkFastifyRegistration (fastify: FastifyInstance): Error | undefined {
  if (fastify.hasRequestDecorator('evsAuthz')) {
    return new ConfigurationError('EVS_AUTHZ_ERR_REGISTERED', 'evs-authz is registered twice', [{
      at: 'register',
      message: 'this Fastify instance (or a parent) already has evs-authz: ' +
        'register it once, after authentication and before the routes or proxy'
    }])
  }
  // Optional, whatever the typings say: instances stubbed in tests (and some wrappers) carry no logger.
  const log: { readonly level?: unknown } | undefined = fastify.log
  warnIfSilent(log?.level, 'the Fastify logger')
  return undefined
}
