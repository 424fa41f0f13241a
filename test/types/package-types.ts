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

const rows: RouteDefinition[] = [...snapshotRoutes,
  { method: 'GET', template: '/v2/{project_id}/x', actions: ['evs:x:get'], enterpriseProject: false, family: 'cinder', name: 'x' }]
const headRow: RouteDefinition = {
  // @ts-expect-error HEAD rows are not allowed: HEAD is authorized as GET
  method: 'HEAD',
  template: '/x',
  actions: ['a:b:c'],
  enterpriseProject: false,
  family: 'cinder',
  name: 'x'
}
const authorizer = createAuthorizer({ routes: rows })
const maybe: Decision | undefined = authorizer.authorize({ method: 'GET', url: '/v2/p/x' }, {})

const expressOptions: EvsAuthzExpressOptions =
  { logger: { debug () {}, info () {}, error () {} }, grants: (req) => req.headers['x-claims'] }
express().use(evsAuthzExpress(expressOptions)).get('/', (req, res) => {
  const decision: Decision | undefined = req.evsAuthz
  res.json({ reason: decision?.reason })
})

export { headRow, maybe }

// The public API (CHANGELOG "Unreleased / Removed"): entry points and the types their signatures name. Every
// kept name is imported here (createAuthorizer and snapshotRoutes above), so dropping one fails to compile; every removed one
// must fail to import.
import {
  ConfigurationError, IdentityRejection, denialResponse, evsAuthz as namedPlugin, evsAuthzFrameworkErrors, formatRouteTable,
  keystoneDefaultRoles, keystoneIdentity, stripIdentityHeaders, upstreamEnterpriseProjectResolver,
  type AllowDecision, type AllowReason, type ApiFamily, type Authorizer, type AuthorizerOptions, type CompiledRoute,
  type ConfigurationProblem, type DenialResponse, type DenyDecision, type DenyReason, type EnterpriseProjectCacheOptions,
  type EnterpriseProjectFact, type EnterpriseProjectLookup, type EnterpriseProjectQuery, type EnterpriseProjectQuestion,
  type EnterpriseProjectResolution, type EnterpriseProjectSource, type ErrorCode, type EvsClaims, type FrameworkErrorsHandler,
  type FrameworkErrorsOptions, type IamPolicy, type IamStatement, type IdentityEvent, type IdentityRejectionKind,
  type IdentityStats, type Inspection, type PendingRequest, type BodyReading, type KeystoneClaims, type KeystoneCredentials,
  type KeystoneIdentity, type KeystoneIdentityOptions, type Mode, type ParamConstraint, type ReadyTargets, type RequestTarget,
  type ResolveEnterpriseProject, type ResourceKind, type RouteMethod, type RouteTableFormat, type UpstreamResolverOptions,
  type ValidationOutcome
} from 'evs-authz'
import type { DecisionLogger } from 'evs-authz/express'

// Removed runtime values, one per line so that each must fail on its own.
// @ts-expect-error removed: internal wiring
import { ACTION_NAME } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { ALL_GRANTED_EPS } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { ALL_PROJECTS_ACTION } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { DECISION_MESSAGE } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { DENY_STATUS } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { IDENTITY_HEADERS } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { ID_CONSTRAINT } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { METADATA_KEY_CONSTRAINT } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { PROJECT_ID_PATTERN } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { ProblemList } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { allowDecision } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { checkAuthorizerOptions } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { credentialsDetail } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { decisionLogFields } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { decisionLogLevel } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { denialMessage } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { denyDecision } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { isClientIdentityHeader } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { isEnterpriseProjectQuestion } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { isIdentityRejection } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { keystoneOptionProblems } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { loadRouteTable } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { parseTemplate } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { readQuery } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { readTokenDocument } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { rejectionResponse } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { systemPolicies } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { withCredentialsDetail } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { withoutCrossProjectKeys } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import { withoutCrossProjectParams } from 'evs-authz'
// Removed types.
// @ts-expect-error removed: internal wiring
import type { DecisionLogFields } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { DenyExtras } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { EnterpriseProjectTargets } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { PathProblem } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { PendingMatch } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { QueryParameter } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { QueryReading } from 'evs-authz'
// @ts-expect-error removed: internal wiring
import type { TemplateSegment } from 'evs-authz'
// @ts-expect-error never public: the decision builders' parameter (the old `export *` would have published it)
import type { RouteMatch } from 'evs-authz'
// @ts-expect-error the Express entry exports the middleware, its options and its logger type only
import { createDecisionFlow } from 'evs-authz/express'

// Uses every import (the type test runs with noUnusedLocals: an unused import would satisfy @ts-expect-error by itself).
export {
  ConfigurationError, IdentityRejection, denialResponse, namedPlugin, evsAuthzFrameworkErrors, formatRouteTable,
  keystoneDefaultRoles, keystoneIdentity, stripIdentityHeaders, upstreamEnterpriseProjectResolver,
  ACTION_NAME, ALL_GRANTED_EPS, ALL_PROJECTS_ACTION, DECISION_MESSAGE, DENY_STATUS, IDENTITY_HEADERS, ID_CONSTRAINT,
  METADATA_KEY_CONSTRAINT, PROJECT_ID_PATTERN, ProblemList, allowDecision, checkAuthorizerOptions, credentialsDetail, decisionLogFields,
  decisionLogLevel, denialMessage, denyDecision, isClientIdentityHeader, isEnterpriseProjectQuestion, isIdentityRejection,
  keystoneOptionProblems, loadRouteTable, parseTemplate, readQuery, readTokenDocument, rejectionResponse, systemPolicies,
  withCredentialsDetail, withoutCrossProjectKeys, withoutCrossProjectParams, createDecisionFlow
}
export type {
  AllowDecision, AllowReason, ApiFamily, Authorizer, AuthorizerOptions, CompiledRoute, ConfigurationProblem, DenialResponse,
  DenyDecision, DenyReason, EnterpriseProjectCacheOptions, EnterpriseProjectFact, EnterpriseProjectLookup, EnterpriseProjectQuery,
  EnterpriseProjectQuestion, EnterpriseProjectResolution, EnterpriseProjectSource, ErrorCode, EvsClaims, FrameworkErrorsHandler,
  FrameworkErrorsOptions, IamPolicy, IamStatement, IdentityEvent, IdentityRejectionKind, IdentityStats, Inspection, PendingRequest,
  BodyReading, KeystoneClaims, KeystoneCredentials, KeystoneIdentity, KeystoneIdentityOptions, Mode, ParamConstraint, ReadyTargets,
  RequestTarget, ResolveEnterpriseProject, ResourceKind, RouteMethod, RouteTableFormat, UpstreamResolverOptions, ValidationOutcome,
  DecisionLogger,
  DecisionLogFields, DenyExtras, EnterpriseProjectTargets, PathProblem, PendingMatch, QueryParameter, QueryReading, TemplateSegment,
  RouteMatch
}
