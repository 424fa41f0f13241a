// Type test, checked by `npm run typecheck` (tsc): the published typings as a user imports them.
// Each @ts-expect-error line must fail to compile; if it ever compiles, tsc reports the unused directive.
import Fastify from 'fastify'
import express from 'express'
import evsAuthz, { createAuthorizer, snapshotRoutes, type Decision, type EvsAuthzOptions, type RouteDefinition } from 'evs-authz'
import evsAuthzExpress, { type EvsAuthzExpressOptions } from 'evs-authz/express'

const app = Fastify()
const options: EvsAuthzOptions = {
  mode: 'audit',
  unmatched: 'pass',
  prefix: '/evs',
  grants: async (request) => request.headers['x-claims'],
  onDecision: (decision, request) => { request.log.info({ reason: decision.reason }) },
  policies: { Operator: { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:snapshots:*'] }] } }
}
app.register(evsAuthz, options)
// @ts-expect-error mode is 'enforce' | 'audit'
app.register(evsAuthz, { mode: 'block' })
// @ts-expect-error unmatched is 'deny' | 'pass'
app.register(evsAuthz, { unmatched: 'allow' })
// @ts-expect-error an IAM Effect is 'Allow' | 'Deny'
app.register(evsAuthz, { policies: { X: { Version: '1.1', Statement: [{ Effect: 'Permit', Action: ['*'] }] } } })

app.get('/', async (request) => {
  // The decision is decorated on every request (module augmentation of FastifyRequest).
  const decision: Decision | null = request.evsAuthz
  if (decision !== null && decision.kind === 'deny') {
    const status: 400 | 401 | 403 | 500 = decision.status
    const missing: readonly string[] = decision.missing
    return { status, missing }
  }
  // @ts-expect-error evsAuthz is a Decision, not a string
  const wrong: string = request.evsAuthz
  return wrong
})

const rows: RouteDefinition[] = [...snapshotRoutes, { method: 'GET', template: '/v2/{project_id}/x', actions: ['evs:x:get'], enterpriseProject: false, family: 'cinder', name: 'x' }]
// @ts-expect-error HEAD rows are not allowed: HEAD is authorized as GET
const headRow: RouteDefinition = { method: 'HEAD', template: '/x', actions: ['a:b:c'], enterpriseProject: false, family: 'cinder', name: 'x' }
const authorizer = createAuthorizer({ routes: rows })
const maybe: Decision | undefined = authorizer.authorize({ method: 'GET', url: '/v2/p/x' }, {})

const expressOptions: EvsAuthzExpressOptions = { logger: { debug () {}, info () {}, error () {} }, grants: (req) => req.headers['x-claims'] }
express().use(evsAuthzExpress(expressOptions)).get('/', (req, res) => {
  const decision: Decision | undefined = req.evsAuthz
  res.json({ reason: decision?.reason })
})

export { headRow, maybe }
