// Requests Fastify's router refuses before any hook runs (FST_ERR_BAD_URL for `%c0%af` and other invalid
// percent-encoding): without this handler Fastify answers them in its own JSON, with no decision line.
// `Fastify({ frameworkErrors: evsAuthzFrameworkErrors() })` answers those in the guarded space the way the
// plugin answers a malformed path (the API family's envelope, request ids) and logs the decision line.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { denialWithRequestId } from './adapter-flow.js'
import {
  DECISION_MESSAGE, createAuthorizer, decisionLogFields, denyDecision, guessFamily, type AuthorizerOptions, type DenyDecision
} from './core/index.js'

/** The options that decide which paths are guarded: give the plugin's `prefix` and `routes` here too. */
export type FrameworkErrorsOptions = Pick<AuthorizerOptions, 'prefix' | 'routes'>

/** What `frameworkErrors` takes. */
export type FrameworkErrorsHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void

/** A Fastify `frameworkErrors` handler. Outside the guarded space it answers as Fastify does (400 with the error). */
export function evsAuthzFrameworkErrors (options: FrameworkErrorsOptions = {}): FrameworkErrorsHandler {
  const authorizer = createAuthorizer(options)
  return function evsAuthzFrameworkError (error, request, reply) {
    const url = request.raw.url ?? request.url
    const inspection = authorizer.inspect({ method: request.method, url })
    if (inspection.kind === 'outside') {
      reply.code(400).send(error)
      return
    }
    const decision: DenyDecision = inspection.kind === 'deny'
      ? inspection
      : denyDecision('malformed-path', request.method, url.split(/[?#]/)[0] ?? '', guessFamily(url), {
        detail: `refused by the router (${error.code})`
      })
    const requestId = String(request.id)
    request.log.info(decisionLogFields(decision, 'enforce', requestId), DECISION_MESSAGE)
    const response = denialWithRequestId(decision, requestId)
    reply.code(response.status).headers(response.headers).send(response.body)
  }
}
