// The core's internal barrel, for the adapters, the CLI, the gateway and the identity code (named re-exports only).
// Not the package entry: src/index.ts publishes the few names users may rely on.
export { createAuthorizer } from './authorizer.js'
export type { Authorizer, AuthorizerOptions, Inspection, PendingRequest, RequestTarget } from './authorizer.js'
export { checkAuthorizerOptions } from './support/authorizer-options.js'
export { guessFamily } from './request/read-request.js'
export type { PendingMatch } from './routing/matcher.js'
export { DENY_STATUS, allowDecision, denyDecision } from './decision/decision.js'
export type { AllowDecision, AllowReason, Decision, DenyDecision, DenyExtras, DenyReason, RouteMatch } from './decision/decision.js'
export { DECISION_MESSAGE, decisionLogFields, decisionLogLevel } from './decision/decision-log.js'
export type { DecisionLogFields, Mode } from './decision/decision-log.js'
export { denialMessage, denialResponse } from './decision/responses.js'
export type { DenialResponse } from './decision/responses.js'
export { closestName } from './support/did-you-mean.js'
export { ConfigurationError, ProblemList } from './support/errors.js'
export type { ConfigurationProblem, ErrorCode } from './support/errors.js'
export { loadRouteTable, ACTION_NAME, ID_CONSTRAINT, METADATA_KEY_CONSTRAINT, PROJECT_ID_PATTERN } from './routing/route-table.js'
export type {
  ApiFamily, CompiledRoute, EnterpriseProjectSource, ParamConstraint, ResourceKind, RouteDefinition, RouteMethod
} from './routing/route-table.js'
export { formatRouteTable } from './routing/route-docs.js'
export type { RouteTableFormat } from './routing/route-docs.js'
export { parseTemplate } from './routing/template.js'
export type { TemplateSegment } from './routing/template.js'
export { systemPolicies } from './iam/catalogue.js'
export type { IamPolicy, IamStatement } from './iam/policy.js'
export type { EvsClaims } from './iam/grants.js'
export type { PathProblem } from './request/path-gate.js'
export { ALL_GRANTED_EPS } from './enterprise/enterprise.js'
export type {
  BodyReading, EnterpriseProjectFact, EnterpriseProjectLookup, EnterpriseProjectQuestion, EnterpriseProjectResolution,
  EnterpriseProjectTargets, ReadyTargets
} from './enterprise/enterprise.js'
export { ALL_PROJECTS_ACTION, withoutCrossProjectKeys, withoutCrossProjectParams } from './request/cross-project.js'
export { readQuery } from './request/query.js'
export type { QueryParameter, QueryReading } from './request/query.js'
export { snapshotRoutes } from '../routes/snapshots.js'
export { credentialsDetail, withCredentialsDetail } from './decision/credentials-detail.js'
export { isRecord, ownValue } from './support/records.js'
