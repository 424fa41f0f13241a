// The package manifest points at files the build produces, and the entries load the way users load them.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  type: string
  engines: { node: string }
  exports: Record<string, { types: string, default: string } | string>
  bin: Record<string, string>
  files: string[]
  dependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional: boolean }>
  optionalDependencies: Record<string, string>
}

t.test('ESM, Node >= 20, runtime dependencies limited to fastify-plugin, lru-cache (EP lookup cache), path-to-regexp, pino and the gateway\'s', async (t) => {
  t.equal(pkg.type, 'module')
  t.equal(pkg.engines.node, '>=20')
  // fastify, @fastify/http-proxy and prom-client run `evs-authz gateway` (loaded only by that command).
  t.same(Object.keys(pkg.dependencies).sort(), ['@fastify/http-proxy', 'fastify', 'fastify-plugin', 'lru-cache', 'path-to-regexp', 'pino', 'prom-client'])
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
