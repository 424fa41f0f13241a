// Enterprise-project decisions in the Express middleware, over a real server on 127.0.0.1: body
// parsers decide whether a body was already consumed from the socket's state, which inject() fakes.
import t from 'tap'
import express from 'express'
import evsAuthzExpress from '../src/express.js'

const P = '0123456789abcdef0123456789abcdef'

function memoryLogger (): {
  logger: {
    debug: (f: object, m: string) => void,
    info: (f: object, m: string) => void,
    error: (f: object,
    m: string) => void
  },
  lines: Array<Record<string, unknown>>
} {
  const lines: Array<Record<string, unknown>> = []
  const at = (level: number) => (fields: object, msg: string): void => { lines.push({ level, ...fields, msg }) }
  return { logger: { debug: at(20), info: at(30), error: at(50) }, lines }
}

t.test('enterprise-project decisions read the JSON body themselves, or use what express.json() parsed', async (t) => {
  // A real server: body parsers decide whether a body was consumed from the socket's state.
  const EP = 'ep-1'
  const grants = { project_id: P, enterprise_projects: [{ id: EP, actions: ['evs:snapshots:create'] }] }
  const resolveEnterpriseProject = ({ id }: { id: string }): string | undefined => (id === 'vol-in-ep' ? EP : 'ep-other')
  for (const withParser of [false, true]) {
    const { logger, lines } = memoryLogger()
    const a = express()
    const seen: unknown[] = []
    if (withParser) a.use(express.json())
    a.use(evsAuthzExpress({ logger, grants: () => grants, resolveEnterpriseProject }))
    a.use(express.json())
    a.use((req, res) => {
      seen.push(req.body)
      res.json({})
    })
    const server = a.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v2/${P}/cloudsnapshots`
    const post = async (body: string, type = 'application/json'): Promise<number> =>
      (await fetch(base, { method: 'POST', body, headers: { 'content-type': type } })).status
    const label = withParser ? 'after express.json()' : 'without a body parser'
    t.equal(await post(JSON.stringify({ snapshot: { volume_id: 'vol-in-ep' } })), 200, `${label}: allowed`)
    t.same(seen, [{ snapshot: { volume_id: 'vol-in-ep' } }], `${label}: the handler sees the parsed body`)
    t.equal(await post(JSON.stringify({ snapshot: { volume_id: 'vol-elsewhere' } })), 403, `${label}: another EP is denied`)
    t.equal(await post('{"snapshot":', 'text/plain'), 400, `${label}: a malformed body is 400`)
    t.same(lines.map((l) => l['reason']), ['granted', 'missing-action', 'malformed-body'])
    t.same(lines[0]?.['enterpriseProjects'], [{ id: EP, source: 'resolver', from: 'body' }])
    await new Promise((resolve) => server.close(resolve))
  }
})
