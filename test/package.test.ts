// The package manifest points at files the build produces, and the entries load the way users load them.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  type: string
  license: string
  engines: { node: string }
  exports: Record<string, { types: string, default: string } | string>
  bin: Record<string, string>
  files: string[]
  dependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional: boolean }>
  optionalDependencies: Record<string, string>
}

t.test('ESM, Node 20 or >= 22, runtime dependencies: fastify-plugin, lru-cache (EP lookup cache), pino, ret, the gateway\'s', async (t) => {
  t.equal(pkg.type, 'module')
  // No wider than a runtime dependency allows (lru-cache: "20 || >=22").
  t.equal(pkg.engines.node, '20 || >=22')
  const lru = JSON.parse(readFileSync(`${root}node_modules/lru-cache/package.json`, 'utf8')) as { engines: { node: string } }
  t.equal(lru.engines.node, pkg.engines.node, 'engines match the strictest runtime dependency')
  // fastify, @fastify/http-proxy and prom-client run `evs-authz gateway` (loaded only by that command).
  // ret tokenizes user regexes for the backtracking check (src/core/routing/regex-safety.ts); fastify installs it anyway.
  // path-to-regexp is only the template parser's test oracle now (a devDependency).
  const runtime = ['@fastify/http-proxy', 'fastify', 'fastify-plugin', 'lru-cache', 'pino', 'prom-client', 'ret']
  t.same(Object.keys(pkg.dependencies).sort(), runtime)
  t.same(pkg.peerDependenciesMeta, { express: { optional: true } })
  // Only the gateway's JWT identity loads it (lazily).
  t.same(Object.keys(pkg.optionalDependencies), ['@fastify/jwt'])
})

t.test('every export and bin target exists after the build, with its types', async (t) => {
  for (const [entry, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue
    t.ok(existsSync(`${root}${target.default}`), `${entry} -> ${target.default}`)
    t.ok(existsSync(`${root}${target.types}`), `${entry} types -> ${target.types}`)
    t.ok(pkg.files.some((f) => target.default.startsWith(`./${f}/`)), `${entry} is inside "files"`)
  }
  for (const [name, target] of Object.entries(pkg.bin)) {
    t.ok(existsSync(`${root}${target}`), `bin ${name} -> ${target}`)
    t.match(readFileSync(`${root}${target}`, 'utf8'), /^#!\/usr\/bin\/env node\n/, 'bin starts with a node shebang')
  }
})

t.test('the entries load by package name: the plugin by default, the middleware from evs-authz/express', async (t) => {
  const main = await import('evs-authz') as Record<string, unknown>
  const express = await import('evs-authz/express') as Record<string, unknown>
  t.type(main['default'], 'function')
  t.equal(main['default'], main['evsAuthz'])
  t.type(main['createAuthorizer'], 'function')
  t.equal((main['snapshotRoutes'] as unknown[]).length, 32)
  t.type(express['default'], 'function')
  t.equal(express['default'], express['evsAuthzExpress'])
  t.notMatch(readFileSync(`${root}dist/express.js`, 'utf8'), /fastify/, 'the Express entry never loads Fastify code')
  t.notMatch(readFileSync(`${root}dist/fastify.js`, 'utf8'), /from 'express'/, 'the Fastify entry never loads Express')
})

t.test('the entries export exactly the public API: entry points, no internal wiring (CHANGELOG "Unreleased / Removed")', async (t) => {
  // Written out here from the CHANGELOG's decision, name by name; a name added to an entry must be added here on purpose.
  const publicApi: Record<string, string[]> = {
    'evs-authz': [
      'ConfigurationError', 'IdentityRejection', 'createAuthorizer', 'default', 'denialResponse', 'evsAuthz', 'evsAuthzFrameworkErrors',
      'formatRouteTable', 'keystoneDefaultRoles', 'keystoneIdentity', 'snapshotRoutes', 'stripIdentityHeaders',
      'upstreamEnterpriseProjectResolver'
    ],
    'evs-authz/express': ['default', 'evsAuthzExpress']
  }
  for (const [entry, names] of Object.entries(publicApi)) {
    const loaded = await import(entry) as Record<string, unknown>
    t.same(Object.keys(loaded).sort(), [...names].sort(), `${entry}: its runtime exports`)
  }
})

t.test('the tarball holds the licence, README, CHANGELOG, docs/, the compiled entries and their sources, nothing else', async (t) => {
  // --ignore-scripts: `npm test` has just built dist/; rebuilding here would race the other test files.
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']
  })
  const packed = (JSON.parse(output) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? []
  t.same(packed.filter((path) => !path.includes('/')).sort(), ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json'], 'top-level files')
  const elsewhere = packed.filter((path) => path.includes('/') && !/^(dist|src|docs)\//.test(path))
  t.same(elsewhere, [], 'nothing outside dist/, src/ and docs/ (no tests, examples, benchmarks)')
  // The README's links into docs/ must resolve inside an installed package too.
  const linkedDocs = [...new Set([...readFileSync(`${root}README.md`, 'utf8').matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1] ?? ''))]
  t.ok(linkedDocs.length > 0, 'the README links into docs/')
  for (const doc of linkedDocs) t.ok(packed.includes(doc), `packed: ${doc}`)
  const sources = (readdirSync(`${root}src`, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts')).map((f) => f.replaceAll('\\', '/'))
  t.ok(sources.length > 20, 'the sources are listed')
  for (const source of sources) {
    const stem = source.slice(0, -'.ts'.length)
    for (const file of [`src/${source}`, `dist/${stem}.js`, `dist/${stem}.d.ts`]) t.ok(packed.includes(file), `packed: ${file}`)
  }
  t.equal(pkg.license, 'MIT')
  const licence = readFileSync(`${root}LICENSE`, 'utf8')
  t.match(licence, /^MIT License\n\nCopyright \(c\) 2026 evs-authz contributors\n/, 'LICENSE names the licence, the year and the holder')
  t.match(licence, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/)
})

t.test('the README says which Node.js versions are tested, including this one, and that 20 is past its end of life', async (t) => {
  const readme = readFileSync(`${root}README.md`, 'utf8')
  const tested = /\*\*Node\.js versions tested:\*\* ([^\n]+\n[^\n]+)/.exec(readme)?.[1] ?? ''
  const majors = [...tested.matchAll(/\b(\d\d) \(\d\d\.\d+\.\d+/g)].map((m) => m[1])
  t.same(majors, ['20', '22', '24'])
  t.ok(majors.includes(process.versions.node.split('.')[0]), `this run's Node ${process.versions.node} is on the README's list`)
  t.match(readme, /Node\.js 20\s+reached its end of life on 2026-04-30/)
  t.match(readme, `(\`engines\`: \`${pkg.engines.node.replace('||', '\\|\\|')}\`)`)
  const ci = readFileSync(`${root}.ci/run`, 'utf8')
  t.match(ci, /NODE_VERSIONS-22 24/, 'CI runs the other majors the README lists')
})
