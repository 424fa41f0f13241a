// Express in front of an EVS backend: any auth middleware that sets req.user (passport, express-jwt's
// req.auth) goes first, then evs-authz, then your proxy or handlers.
import express, { type Express, type RequestHandler } from 'express'
import evsAuthzExpress, { type EvsAuthzExpressOptions } from 'evs-authz/express'

export function buildExpressApp (authenticate: RequestHandler, options: EvsAuthzExpressOptions = {}): Express {
  const app = express()
  app.use(authenticate)
  app.use(evsAuthzExpress(options))
  app.get('/v2/:project_id/snapshots/detail', (_req, res) => { res.json({ snapshots: [] }) })
  return app
}
