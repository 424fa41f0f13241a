// Package entry: the Fastify plugin (default export) and the framework-free core, by name.
export { default, evsAuthz } from './fastify.js'
export type { EvsAuthzOptions } from './fastify.js'
export * from './core/index.js'
