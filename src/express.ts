// The Express adapter (Express 5 and 4): the same decision flow as the Fastify plugin, matched on
// req.originalUrl (req.url loses the mount path), answering with the same statuses, bodies and log lines.
import { randomUUID } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { pino } from 'pino'
import { createDecisionFlow, type AdapterOptions, type DecisionLogger } from './adapter-flow.js'
import { denialResponse, type Decision } from './core/index.js'

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

type RequestWithIdentity = Request & { user?: unknown, auth?: unknown, id?: unknown, log?: DecisionLogger }

/** Default grants: `req.user` (passport and most auth middleware), else express-jwt's `req.auth`. */
const userOf = (req: Request): unknown => (req as RequestWithIdentity).user ?? (req as RequestWithIdentity).auth

/** `app.use(evsAuthzExpress(options))`: enforces the EVS snapshot permissions in front of your routes. */
export function evsAuthzExpress (options: EvsAuthzExpressOptions = {}): RequestHandler {
  const flow = createDecisionFlow(options, userOf)
  const logger = options.logger ?? pino()
  return function evsAuthzMiddleware (req: Request, res: Response, next: NextFunction): void {
    const r = req as RequestWithIdentity
    const requestId = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : randomUUID()
    const attach = (decision: Decision): void => { req.evsAuthz = decision }
    flow(req, { method: req.method, url: req.originalUrl, headers: req.headers }, logger, requestId, attach, (decision, block) => {
      if (decision === undefined || decision.allowed || !block) {
        next()
        return
      }
      const response = denialResponse(decision)
      res.status(response.status).set(response.headers).json(response.body)
    })
  }
}

export default evsAuthzExpress
