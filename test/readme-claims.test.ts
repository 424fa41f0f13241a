// What the README says is what the code does: reasons, defaults, metadata-key rules and what is logged.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { pino } from 'pino'
import evsAuthz, { createAuthorizer } from 'evs-authz'
import { DENY_STATUS, PROJECT_ID_PATTERN, decisionLogFields, denyDecision } from '../src/core/index.js'
import { DEFAULT_BODY_LIMIT } from '../src/adapter-flow.js'
import ts from 'typescript'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const P = '0123456789abcdef0123456789abcdef'
const S = '5a9d0b8c-1111-4c2e-9d52-2f1c0b7e6a11'
const ALL = { project_id: P, actions: ['evs:*:*'] }
const ticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '')

t.test('the closed set of reasons in the README is the set the code has', async (t) => {
  const paragraph = readme.slice(readme.indexOf('The closed set of reasons'), readme.indexOf('## Grant formats'))
  const allowed = ['granted', 'unmatched-pass', 'not-guarded']
  t.same(ticked(paragraph).filter((w) => !allowed.includes(w) && w !== 'authorize()').sort(), Object.keys(DENY_STATUS).sort())
})

t.test('the defaults in the Options snippet are the defaults', async (t) => {
  const snippet = /<!-- snippet: options[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(readme)?.[1] ?? ''
  const value = (name: string): string | undefined => new RegExp(`^  ${name}: ([^,\\n]+?),?\\s*(//.*)?$`, 'm').exec(snippet)?.[1]
  t.equal(value('projectIdPattern'), String(PROJECT_ID_PATTERN))
  t.equal(Number(value('bodyLimit')), DEFAULT_BODY_LIMIT)
  const plain = createAuthorizer()
  t.equal(value('unmatched'), "'deny'")
  t.equal(plain.authorize({ method: 'GET', url: `/v2/${P}/volumes` }, ALL).reason, 'route-not-found', 'unmatched: deny')
  t.equal(value('crossProjectQuery'), "'strip'")
  const listed = plain.authorize({ method: 'GET', url: `/v2/${P}/snapshots?all_tenants=1` }, ALL)
  t.same([listed.kind, listed.kind === 'allow' && listed.forwardUrl], ['allow', `/v2/${P}/snapshots`], 'crossProjectQuery: strip')
  t.equal(value('prefix'), "''")
  t.equal(plain.authorize({ method: 'GET', url: `/v2/${P}/snapshots` }, ALL).reason, 'granted', 'no prefix')
})

t.test('metadata keys: the README rule is the matcher rule', async (t) => {
  t.match(readme, 'so `metadata/k1.json` matches no row (403 `route-not-found`)')
  t.match(readme, '`.../metadata/<key>.json` (and `.xml`, in any case) is refused too (403 `route-not-found`)')
  t.notMatch(readme, 'authorized as the same route', 'the old, wrong claim is gone')
  const authorizer = createAuthorizer()
  const reason = (key: string): string =>
    authorizer.authorize({ method: 'GET', url: `/v3/${P}/snapshots/${S}/metadata/${key}` }, ALL).reason
  for (const key of ['k1', 'color', 'a.b', 'x:y', 'with%20space', 'json', 'k.jsonx']) t.equal(reason(key), 'granted', key)
  for (const key of ['k1.json', 'K1.JSON', 'k1.xml', 'k1.Xml', 'x'.repeat(256)]) t.equal(reason(key), 'route-not-found', key.slice(0, 12))
  t.equal(reason('a%2Fb'), 'malformed-path', 'no / in a key')
})

t.test('the decision log: every field the README lists and nothing from the token or the query', async (t) => {
  const fields = Object.keys(decisionLogFields(denyDecision('missing-action', 'GET', '/v2', 'cinder', {}), 'enforce', 'r1'))
  for (const field of fields) t.match(readme, `\`${field}\``, `README documents ${field}`)
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _e, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      cb()
    }
  })
  const app = Fastify({ loggerInstance: pino({ level: 'debug' }, stream) })
  const failure = new Error('the claims store is down')
  await app.register(evsAuthz, {
    grants: (request) => {
      if (request.headers['x-fail'] !== undefined) throw failure
      return { ...ALL, secret_claim: 'claim-value-7f3a' }
    }
  })
  app.all('/*', async () => 'ok')
  const tokens = { 'x-auth-token': 'token-value-5d1e', authorization: 'Bearer b-4c9e' }
  await app.inject({ method: 'GET', url: `/v2/${P}/snapshots?token=query-value-91c2`, headers: tokens })
  await app.inject({ method: 'DELETE', url: `/v2/${P}/snapshots/${S}?x=query-value-91c2`, headers: { 'x-fail': '1', ...tokens } })
  // The decision lines (Fastify's own request lines log req.url with its query: the README says so).
  const logged = JSON.stringify(lines.filter((l) => l['msg'] === 'evs-authz decision'))
  t.equal(lines.filter((l) => l['msg'] === 'evs-authz decision').length, 2)
  t.match(readme, 'Fastify\'s own `incoming request` lines log `req.url` with its query string')
  for (const secret of ['claim-value-7f3a', 'query-value-91c2', 'token-value-5d1e', 'b-4c9e']) {
    t.notMatch(logged, secret, `never logged: ${secret}`)
  }
  // README: "If it throws or rejects, the request is denied with 500 (grants-error) and the error is logged".
  const failed = lines.find((l) => l['reason'] === 'grants-error')
  t.match(failed, { status: 500, err: { message: 'the claims store is down' } }, 'a failing grants() is logged with the error itself')
  t.match(readme, '(`grants-error`) and the error is logged')
  await app.close()
})

t.test('every name the README imports from the package is exported there', async (t) => {
  const entries: Record<string, Record<string, unknown>> = {
    'evs-authz': await import('evs-authz') as Record<string, unknown>,
    'evs-authz/express': await import('evs-authz/express') as Record<string, unknown>
  }
  let checked = 0
  for (const m of readme.matchAll(/^import (?!type )(\w+)?,? ?(?:\{([^}]*)\})? from '(evs-authz(?:\/express)?)'$/gm)) {
    const exported = entries[m[3] ?? ''] ?? {}
    if (m[1] !== undefined) t.type(exported['default'], 'function', `${m[3] ?? ''}: a default export`)
    for (const name of (m[2] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '' && !n.startsWith('type '))) {
      t.ok(Object.hasOwn(exported, name), `${m[3] ?? ''} exports ${name}`)
      checked++
    }
  }
  t.ok(checked >= 8, `the README's value imports were found (${checked})`)
  t.notMatch(readme, 'countDecisions', 'no helper the package does not contain')
})

t.test('"What the package exports" names each entry\'s runtime exports, and the TypeScript snippet every exported type', async (t) => {
  const paragraph = readme.slice(readme.indexOf('**What the package exports**'), readme.indexOf('Paths inside the package'))
  const [main = '', express = ''] = paragraph.split('`evs-authz/express` exports')
  const identifiers = (text: string): string[] => ticked(text).filter((w) => /^\w+$/.test(w)).sort()
  const runtime = async (entry: string): Promise<string[]> =>
    Object.keys(await import(entry) as Record<string, unknown>).filter((name) => name !== 'default').sort()
  t.match(main, 'the default export', 'the plugin is the default export')
  t.same(identifiers(main), await runtime('evs-authz'), 'evs-authz')
  t.match(express, 'the default export', 'the middleware is the default export')
  t.same(identifiers(express), await runtime('evs-authz/express'), 'evs-authz/express')

  // The type-only exports of the built entries, as the compiler sees them, against the snippet's imports.
  const dist = (file: string): string => fileURLToPath(new URL(`../dist/${file}`, import.meta.url))
  const program = ts.createProgram([dist('index.d.ts'), dist('express.d.ts')], { module: ts.ModuleKind.NodeNext, noEmit: true })
  const checker = program.getTypeChecker()
  const typesOf = (file: string): string[] => {
    const source = program.getSourceFile(dist(file))
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source)
    if (module === undefined) return []
    return checker.getExportsOfModule(module).filter((symbol) => {
      const target = (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol
      return (target.flags & ts.SymbolFlags.Value) === 0
    }).map((symbol) => symbol.getName()).sort()
  }
  const snippet = /<!-- snippet: types[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(readme)?.[1] ?? ''
  const imported = (entry: string): string[] => {
    const list = new RegExp(`^import type \\{([^}]*)\\} from '${entry}'$`, 'm').exec(snippet)?.[1] ?? ''
    return list.split(',').map((name) => name.trim()).filter((name) => name !== '').sort()
  }
  const mainTypes = typesOf('index.d.ts')
  t.ok(mainTypes.length > 30, `the compiler listed the entry's types (${mainTypes.length})`)
  t.same(imported('evs-authz'), mainTypes, 'every type of evs-authz, nothing more')
  t.same(imported('evs-authz/express'), typesOf('express.d.ts'), 'every type of evs-authz/express, nothing more')
})
