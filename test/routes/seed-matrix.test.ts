// Every row of the seed table (hand transcription, v2 and v3 twins) driven through BOTH adapters, the
// Fastify plugin and the Express middleware, from this one case table; every request is sent to both
// and they must agree on status, body and decision line:
// exact grant → allowed; each action withheld → 403 naming it; no token → 401; other project → 403;
// explicit Deny beats Allow * → 403; HEAD on GET rows as GET. Each request logs exactly one decision line.
import t from 'tap'
import express from 'express'
import { inject } from 'light-my-request'
import { pino } from 'pino'
import evsAuthzExpress from '../../src/express.js'
import { buildApp, nextRequestId, type LogLine } from '../fixtures/app.js'
import { seedRows, type SeedFamily, type SeedRow } from '../fixtures/seed-table.js'

// The type of a subtest's `t` (the last overload of t.test takes only the callback).
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const PROJECT = '5f1c2e3d4b6a79880a1b2c3d4e5f6a7b'
const OTHER_PROJECT = '0e9d8c7b6a5f43210fedcba987654321'
const SNAPSHOT = '3b1f7a52-9c4e-4d2b-8f6a-0c1d2e3f4a5b'
const KEY = 'color'
const USER = 'user-7d41'

const { app, reached, decisionLines } = buildApp()
t.before(async () => { await app.ready() })
t.teardown(async () => { await app.close() })

// The Express twin: a real pino logger on an in-memory stream, the claims header read into req.user
// (as passport would) and the request id into req.id (as pino-http would), before the middleware.
const expressLines: LogLine[] = []
const expressReached: string[] = []
const expressApp = express()
expressApp.use((req, _res, next) => {
  const claims = req.headers['x-test-claims']
  Reflect.set(req, 'user', typeof claims === 'string' ? JSON.parse(claims) : undefined)
  Reflect.set(req, 'id', req.headers['x-request-id'])
  next()
})
const expressLog = { write: (line: string) => { expressLines.push(JSON.parse(line) as LogLine) } }
expressApp.use(evsAuthzExpress({ logger: pino({ level: 'debug' }, expressLog) }))
expressApp.all(/.*/, (req, res) => {
  expressReached.push(String(req.headers['x-request-id']))
  res.json({ reached: true })
})

// What must be identical between adapters: everything but process/time fields and Fastify's reqId binding.
function comparable (line: LogLine | undefined): unknown {
  if (line === undefined) return undefined
  const { time: _time, pid: _pid, hostname: _hostname, reqId: _reqId, ...rest } = line as LogLine & Record<string, unknown>
  return rest
}

function concreteUrl (template: string): string {
  return template.replace('{project_id}', PROJECT).replace('{snapshot_id}', SNAPSHOT).replace('{key}', KEY)
}

function forbiddenBody (family: SeedFamily, action: string): unknown {
  const message = `Policy doesn't allow ${action} to be performed.`
  return family === 'cinder'
    ? { forbidden: { code: 403, message } }
    : { error: { code: 'EVS.5403', message } }
}

interface Sent {
  readonly adapter: 'fastify' | 'express'
  readonly status: number
  readonly body: string
  readonly json: unknown
  readonly reached: boolean
  readonly line: LogLine | undefined
  readonly lineCount: number
  readonly reqId: string
}

function parse (body: string): unknown {
  try {
    return body === '' ? undefined : JSON.parse(body)
  } catch {
    return undefined
  }
}

/** Sends one request to both adapters; returns both results after checking they agree. */
async function send (method: string, url: string, claims: unknown): Promise<Sent[]> {
  const reqId = nextRequestId('matrix')
  const headers: Record<string, string> = { 'x-request-id': reqId }
  if (claims !== undefined) headers['x-test-claims'] = JSON.stringify(claims)
  const fastifyResponse = await app.inject({ method: method as 'GET', url, headers })
  const expressResponse = await inject(expressApp, { method: method as 'GET', url, headers })
  const fastifyLines = decisionLines(reqId)
  const expressDecisionLines = expressLines.filter((line) => line['requestId'] === reqId && line.msg === 'evs-authz decision')
  const results: Sent[] = [
    {
      adapter: 'fastify',
      status: fastifyResponse.statusCode,
      body: fastifyResponse.body,
      json: parse(fastifyResponse.body),
      reached: reached.includes(reqId),
      line: fastifyLines[0],
      lineCount: fastifyLines.length,
      reqId
    },
    {
      adapter: 'express',
      status: expressResponse.statusCode,
      body: expressResponse.body,
      json: parse(expressResponse.body),
      reached: expressReached.includes(reqId),
      line: expressDecisionLines[0],
      lineCount: expressDecisionLines.length,
      reqId
    }
  ]
  parity.push({ what: `${method} ${url}`, fastify: results[0] as Sent, express: results[1] as Sent })
  return results
}

const parity: Array<{ what: string, fastify: Sent, express: Sent }> = []

interface ExpectedLine {
  readonly decision: 'allow' | 'deny'
  readonly reason: string
  readonly method: string
  readonly row: SeedRow
  readonly template: string
  readonly missing: readonly string[]
  readonly userId: string | undefined
}

function checkLine (t: TapTest, sent: Sent, expected: ExpectedLine): void {
  t.equal(sent.lineCount, 1, 'exactly one decision line')
  const line = sent.line
  if (line === undefined) return
  t.equal(line['decision'], expected.decision, 'log decision')
  t.equal(line['reason'], expected.reason, 'log reason')
  t.equal(line['mode'], 'enforce', 'log mode')
  t.equal(line['method'], expected.method, 'log method')
  t.equal(line['template'], expected.template, 'log template')
  t.type(line['route'], 'string', 'log route name')
  t.ok(typeof line['route'] === 'string' && line['route'].length > 0, 'log route name is not empty')
  t.same(line['requiredActions'], expected.row.actions, 'log requiredActions')
  t.same(line['missingActions'], expected.missing, 'log missingActions')
  t.equal(line['projectId'], PROJECT, 'log projectId (the project in the path)')
  t.equal(line['userId'], expected.userId, 'log userId')
  t.equal(line['requestId'], sent.reqId, 'log requestId')
  if (expected.decision === 'allow') t.equal(line.level, 20, 'allow logged at debug')
  else t.ok(line.level >= 30, `deny logged at info or above (got ${line.level})`)
}

for (const row of seedRows) {
  const url = concreteUrl(row.template)
  const methods = row.method === 'GET' ? ['GET', 'HEAD'] : [row.method]

  for (const method of methods) {
    const isHead = method === 'HEAD'
    t.test(`${method} ${row.template} (${row.family})`, async (t) => {
      t.test('(a) exactly the row\'s actions in the right project → allowed, handler reached', async (t) => {
        for (const sent of await send(method, url, { project_id: PROJECT, sub: USER, actions: [...row.actions] })) {
          t.equal(sent.status, 200)
          t.ok(sent.reached, 'handler reached')
          if (!isHead) t.same(sent.json, { reached: true })
          checkLine(t, sent, { decision: 'allow', reason: 'granted', method, row, template: row.template, missing: [], userId: USER })
        }
      })

      for (const withheld of row.actions) {
        t.test(`(b) grant without ${withheld} → 403 naming it`, async (t) => {
          const actions = row.actions.filter((a) => a !== withheld)
          for (const sent of await send(method, url, { project_id: PROJECT, sub: USER, actions })) {
            t.equal(sent.status, 403)
            t.notOk(sent.reached, 'handler not reached')
            if (!isHead) t.same(sent.json, forbiddenBody(row.family, withheld))
            const expected: ExpectedLine = {
              decision: 'deny',
              reason: 'missing-action',
              method,
              row,
              template: row.template,
              missing: [withheld],
              userId: USER
            }
            checkLine(t, sent, expected)
          }
        })
      }

      if (row.actions.length > 1) {
        t.test('(b\') no action at all → 403, every action missing in table order', async (t) => {
          for (const sent of await send(method, url, { project_id: PROJECT, sub: USER, actions: [] })) {
            t.equal(sent.status, 403)
            t.notOk(sent.reached, 'handler not reached')
            if (!isHead) {
              const named = row.actions.map((a) => forbiddenBody(row.family, a))
              t.ok(named.some((body) => JSON.stringify(body) === sent.body), `body names one of the row's actions: ${sent.body}`)
            }
            const expected: ExpectedLine = {
              decision: 'deny',
              reason: 'missing-action',
              method,
              row,
              template: row.template,
              missing: row.actions,
              userId: USER
            }
            checkLine(t, sent, expected)
          }
        })
      }

      t.test('(c) no claims → 401', async (t) => {
        for (const sent of await send(method, url, undefined)) {
          t.equal(sent.status, 401)
          t.notOk(sent.reached, 'handler not reached')
          if (!isHead) {
            if (row.family === 'cinder') {
              const message = 'The request you have made requires authentication.'
              t.same(sent.json, { error: { code: 401, title: 'Unauthorized', message } })
            } else {
              t.match(sent.json, { error: { code: 'EVS.5401', message: String } })
              t.same(Object.keys((sent.json as { error: object }).error).sort(), ['code', 'message'])
            }
          }
          const expected: ExpectedLine = {
            decision: 'deny',
            reason: 'no-credentials',
            method,
            row,
            template: row.template,
            missing: [],
            userId: undefined
          }
          checkLine(t, sent, expected)
        }
      })

      t.test('(d) right actions, another project in the token → 403', async (t) => {
        for (const sent of await send(method, url, { project_id: OTHER_PROJECT, sub: USER, actions: [...row.actions] })) {
          t.equal(sent.status, 403)
          t.notOk(sent.reached, 'handler not reached')
          if (!isHead) {
            if (row.family === 'cinder') t.match(sent.json, { forbidden: { code: 403, message: String } })
            else t.match(sent.json, { error: { code: 'EVS.5403', message: String } })
            t.notMatch(sent.body, OTHER_PROJECT, 'the token\'s project is not echoed')
          }
          const expected: ExpectedLine = {
            decision: 'deny',
            reason: 'project-mismatch',
            method,
            row,
            template: row.template,
            missing: [],
            userId: USER
          }
          checkLine(t, sent, expected)
        }
      })

      for (const denied of row.actions) {
        t.test(`(e) Allow * with an explicit Deny on ${denied} → 403 naming it`, async (t) => {
          for (const sent of await send(method, url, {
            project_id: PROJECT,
            sub: USER,
            policies: [{ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['*'] }, { Effect: 'Deny', Action: [denied] }] }]
          })) {
            t.equal(sent.status, 403)
            t.notOk(sent.reached, 'handler not reached')
            if (!isHead) t.same(sent.json, forbiddenBody(row.family, denied))
            const expected: ExpectedLine = {
              decision: 'deny',
              reason: 'explicit-deny',
              method,
              row,
              template: row.template,
              missing: [denied],
              userId: USER
            }
            checkLine(t, sent, expected)
          }
        })
      }
    })
  }
}

// The v3 Huawei-native API does not exist, so nothing can authorize it; the plugin refuses it
// rather than letting a guessed route through.
for (const [method, template] of [
  ['POST', '/v3/{project_id}/cloudsnapshots'],
  ['GET', '/v3/{project_id}/cloudsnapshots/detail'],
  ['GET', '/v3/{project_id}/cloudsnapshots/{snapshot_id}'],
  ['DELETE', '/v3/{project_id}/cloudsnapshots/{snapshot_id}']
] as const) {
  t.test(`${method} ${template} does not exist → refused even with every action`, async (t) => {
    for (const sent of await send(method, concreteUrl(template), { project_id: PROJECT, sub: USER, actions: ['evs:*:*'] })) {
      t.equal(sent.status, 403)
      t.notOk(sent.reached, 'handler not reached')
      t.equal(sent.lineCount, 1, 'exactly one decision line')
      t.equal(sent.line?.['decision'], 'deny')
    }
  })
}

t.test('Fastify and Express agree on every request of the matrix', async (t) => {
  for (const row of seedRows) {
    t.ok(parity.some((p) => p.what === `${row.method} ${concreteUrl(row.template)}`), `${row.method} ${row.template} went to both adapters`)
  }
  for (const { what, fastify, express } of parity) {
    const sameLine = JSON.stringify(comparable(fastify.line)) === JSON.stringify(comparable(express.line))
    if (fastify.status !== express.status || fastify.body !== express.body || !sameLine) {
      t.fail(`adapters disagree on ${what}`, {
        fastify: [fastify.status, fastify.body, comparable(fastify.line)],
        express: [express.status, express.body, comparable(express.line)]
      })
    }
  }
  t.pass('compared every request')
})
