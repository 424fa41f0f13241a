// The Express adapter (Express 5 and 4): the same decision flow as the Fastify plugin, matched on
// req.originalUrl (req.url loses the mount path), answering with the same statuses, bodies and log lines.
import { randomUUID } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { pino } from 'pino'
import {
  createDecisionFlow, denialWithRequestId, judgedHeaders, parseJsonBody, readLimited, type AdapterOptions,
  type DecisionLogger, type FlowHost
} from './adapter-flow.js'
import { withoutCrossProjectKeys, type Decision } from './core/index.js'
import { warnIfSilent } from './registration.js'

// The `logger` option's type, so users can name it (the entry's other exports: evsAuthzExpress and its options).
export type { DecisionLogger } from './adapter-flow.js'

/** Options of the Express middleware (see README "Express"). */
export interface EvsAuthzExpressOptions extends AdapterOptions<Request> {
  /** A pino-compatible logger for decision lines (default: a new pino logger on stdout). */
  readonly logger?: DecisionLogger
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The evs-authz decision for this request; undefined outside the guarded API space. */
    evsAuthz?: Decision
  }
}

// Fields other middleware set and Express's types do not declare (req.user, req.auth, req.id, req._body) are read
// with `in`, which narrows without a cast.

/** Default grants: `req.user` (passport and most auth middleware), else express-jwt's `req.auth`. */
const userOf = (req: Request): unknown => ('user' in req ? req.user : undefined) ?? ('auth' in req ? req.auth : undefined)

/** One request in the middleware: what the flow hands back to the host below. */
interface MiddlewareContext {
  readonly req: Request
  readonly res: Response
  readonly next: NextFunction
  readonly requestId: string
  /** The target judged: req.originalUrl, or req.url below a mount path (see the middleware). */
  readonly url: string
}

function finish (context: MiddlewareContext, decision: Decision | undefined, block: boolean, forwardUrl: string | undefined): void {
  const { req, res } = context
  if (decision !== undefined && decision.kind === 'deny' && block) {
    const response = denialWithRequestId(decision, context.requestId)
    res.status(response.status).set(response.headers).json(response.body)
    return
  }
  if (forwardUrl !== undefined) {
    // Proxies forward req.url (mount-relative) or req.originalUrl: drop the same parameters from both,
    // and from a query Express 4 already parsed (Express 5 parses req.query from req.url on each read).
    const query = forwardUrl.includes('?') ? forwardUrl.slice(forwardUrl.indexOf('?')) : ''
    req.url = `${req.url.split('?')[0] ?? ''}${query}`
    req.originalUrl = `${req.originalUrl.split('?')[0] ?? ''}${query}`
    if (Object.hasOwn(req, 'query') && typeof req.query === 'object' && req.query !== null) {
      // The same values under fewer keys: still the ParsedQs withoutCrossProjectKeys's signature widens to a record.
      req.query = withoutCrossProjectKeys(req.query) as typeof req.query
    }
  }
  context.next()
}

/** `app.use(evsAuthzExpress(options))`: enforces the EVS snapshot permissions in front of your routes. */
export function evsAuthzExpress (options: EvsAuthzExpressOptions = {}): RequestHandler {
  const logger = options.logger ?? pino()
  warnIfSilent(('level' in logger ? logger.level : undefined) ?? 'info', 'the evs-authz logger')
  const host: FlowHost<Request, MiddlewareContext> = {
    request: (context) => context.req,
    log: () => logger,
    requestId: (context) => context.requestId,
    url: (context) => context.url,
    attach: (context, decision) => { context.req.evsAuthz = decision },
    finish,
    needBody (context, question) {
      const req = context.req
      // A body parser (express.json()) may have run already; otherwise read the body here and leave it
      // parsed on req.body, marked the way body-parser marks it so later parsers skip it.
      if (('_body' in req && req._body === true) || (typeof req.body === 'object' && req.body !== null)) {
        flow.resume(context, question, { kind: 'json', value: req.body })
        return
      }
      // Express cannot hand a consumed stream on: in audit mode a body past bodyLimit reaches later
      // middleware truncated (enforce mode answers 400 anyway).
      readLimited(req, flow.bodyLimit).then(({ buffer }) => {
        const body = parseJsonBody(buffer, flow.bodyLimit)
        if (body.kind === 'json') {
          req.body = body.value
          Object.assign(req, { _body: true })
        }
        flow.resume(context, question, body)
      }, context.next)
    }
  }
  const flow = createDecisionFlow(options, userOf, host)
  return function evsAuthzMiddleware (req: Request, res: Response, next: NextFunction): void {
    const id = 'id' in req ? req.id : undefined
    const requestId = typeof id === 'string' || typeof id === 'number' ? String(id) : `req-${randomUUID()}`
    // Mounted below a path (`app.use('/evs', ...)`), req.url is mount-relative and is what most proxies
    // forward: when the full URL is outside the guarded space but the mount-relative one is not, judge that.
    const mounted = req.baseUrl !== '' && flow.outside(req.originalUrl) && !flow.outside(req.url)
    const url = mounted ? req.url : req.originalUrl
    flow.start({ req, res, next, requestId, url }, { method: req.method, url, headers: judgedHeaders(req.headers, req.rawHeaders) })
  }
}

export default evsAuthzExpress
