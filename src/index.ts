// The package entry: entry points and the types their signatures name, each by name (every name is a semver
// promise). What is left out is internal wiring: the adapters, the CLI and the gateway import the core from
// src/core/index.ts and their siblings by path. CHANGELOG "Unreleased / Removed" gives the reason per name.
export { default, evsAuthz } from './fastify.js'
export type { EvsAuthzOptions } from './fastify.js'
export { ConfigurationError, createAuthorizer, denialResponse, formatRouteTable, snapshotRoutes } from './core/index.js'
export type {
  AuthorizerOptions, Authorizer, RequestTarget, Inspection, PendingRequest, BodyReading, ReadyTargets,
  Decision, AllowDecision, DenyDecision, AllowReason, DenyReason, EnterpriseProjectFact, Mode, DenialResponse,
  ConfigurationProblem, ErrorCode,
  RouteDefinition, RouteMethod, ApiFamily, ParamConstraint, EnterpriseProjectSource, ResourceKind, CompiledRoute, RouteTableFormat,
  IamPolicy, IamStatement, EvsClaims,
  EnterpriseProjectQuestion, EnterpriseProjectLookup, EnterpriseProjectResolution
} from './core/index.js'
export { upstreamEnterpriseProjectResolver } from './enterprise-resolution.js'
export type {
  EnterpriseProjectCacheOptions, EnterpriseProjectQuery, ResolveEnterpriseProject, UpstreamResolverOptions
} from './enterprise-resolution.js'
export { evsAuthzFrameworkErrors } from './framework-errors.js'
export type { FrameworkErrorsHandler, FrameworkErrorsOptions } from './framework-errors.js'
export { stripIdentityHeaders } from './forwarding.js'
export { keystoneIdentity } from './identity/keystone.js'
export type {
  IdentityEvent, IdentityStats, KeystoneClaims, KeystoneCredentials, KeystoneIdentity, KeystoneIdentityOptions, ValidationOutcome
} from './identity/keystone.js'
export { keystoneDefaultRoles } from './identity/keystone-roles.js'
export { IdentityRejection } from './identity/rejection.js'
export type { IdentityRejectionKind } from './identity/rejection.js'
