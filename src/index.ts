// Package entry: the Fastify plugin (default export) and the framework-free core, by name.
export { default, evsAuthz } from './fastify.js'
export type { EvsAuthzOptions } from './fastify.js'
export { upstreamEnterpriseProjectResolver } from './enterprise-resolution.js'
export type { EnterpriseProjectCacheOptions, EnterpriseProjectQuery, ResolveEnterpriseProject, UpstreamResolverOptions } from './enterprise-resolution.js'
export { IDENTITY_HEADERS, isClientIdentityHeader, stripIdentityHeaders } from './forwarding.js'
export * from './core/index.js'
export { evsAuthzFrameworkErrors } from './framework-errors.js'
export type { FrameworkErrorsOptions } from './framework-errors.js'
