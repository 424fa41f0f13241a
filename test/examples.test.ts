// The small examples in examples/ (the demo gateway has test/demo.test.ts and test/e2e-proxy.test.ts).
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import ts from 'typescript'
import Fastify from 'fastify'
import { inject } from 'light-my-request'
import evsAuthz from 'evs-authz'
import { buildExpressApp } from '../examples/express-app.js'
import { countDecisions } from '../examples/metrics.js'

const P = '0123456789abcdef0123456789abcdef'

t.test('express example: auth middleware first, then evs-authz', async (t) => {
  const app = buildExpressApp((req, _res, next) => {
    const claims = req.headers['x-claims']
    Reflect.set(req, 'user', typeof claims === 'string' ? JSON.parse(claims) : undefined)
    next()
  }, { logger: { debug () {}, info () {}, error () {} } })
  const reader = JSON.stringify({ project_id: P, roles: ['readonly'] })
  t.equal((await inject(app, { method: 'GET', url: `/v2/${P}/snapshots/detail`, headers: { 'x-claims': reader } })).statusCode, 200)
  t.equal((await inject(app, { method: 'GET', url: `/v2/${P}/snapshots/detail` })).statusCode, 401)
  t.equal((await inject(app, { method: 'POST', url: `/v2/${P}/snapshots`, headers: { 'x-claims': reader } })).statusCode, 403)
})

t.test('metrics example: onDecision counts decisions by outcome and reason', async (t) => {
  const counter = countDecisions()
  const app = Fastify()
  app.addHook('onRequest', async (request) => {
    const claims = request.headers['x-claims']
    Reflect.set(request, 'user', typeof claims === 'string' ? JSON.parse(claims) : undefined)
  })
  await app.register(evsAuthz, { onDecision: counter.onDecision })
  app.all('/*', async () => ({}))
  const reader = JSON.stringify({ project_id: P, roles: ['readonly'] })
  await app.inject({ method: 'GET', url: `/v2/${P}/snapshots`, headers: { 'x-claims': reader } })
  await app.inject({ method: 'GET', url: `/v2/${P}/snapshots`, headers: { 'x-claims': reader } })
  await app.inject({ method: 'DELETE', url: `/v2/${P}/snapshots/abc`, headers: { 'x-claims': reader } })
  await app.inject({ method: 'GET', url: `/v2/${P}/snapshots` })
  await app.inject({ method: 'GET', url: '/health' })
  t.equal(counter.render(), [
    '# HELP evs_authz_decisions_total evs-authz decisions by outcome and reason.',
    '# TYPE evs_authz_decisions_total counter',
    'evs_authz_decisions_total{decision="allow",reason="granted",route="/v2/{project_id}/snapshots"} 2',
    'evs_authz_decisions_total{decision="deny",reason="missing-action",route="/v2/{project_id}/snapshots/{snapshot_id}"} 1',
    'evs_authz_decisions_total{decision="deny",reason="no-credentials",route="/v2/{project_id}/snapshots"} 1',
    ''
  ].join('\n'))
  await app.close()
})

t.test('examples import evs-authz only through its public entries, never src/ or dist/', async (t) => {
  const dir = new URL('../examples/', import.meta.url)
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'))
  t.ok(files.length >= 5, `the examples were found (${files.length})`)
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(new URL(file, dir), 'utf8'), true, true)
    for (const { fileName } of importedFiles) {
      // A sibling example (./x.js) or a package; of this package only the entries its `exports` publish.
      const allowed = /^\.\/[\w-]+\.js$/.test(fileName) || (!fileName.startsWith('.') && !/^evs-authz\/(?!express$)/.test(fileName))
      t.ok(allowed, `${file} imports ${fileName}`)
    }
  }
})
