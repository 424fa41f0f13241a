// The policy catalogue: role names a token may carry, resolved to policy documents.
// Built in: the Huawei system roles and policies that grant EVS snapshot actions.
import { ProblemList, describe } from '../support/errors.js'
import { deepFreeze } from '../support/frozen.js'
import { isRecord } from '../support/records.js'
import { compilePolicy, type CompiledStatement, type IamPolicy } from './policy.js'

const tenantAdministrator: IamPolicy = {
  Version: '1.0',
  Statement: [{ Effect: 'Allow', Action: ['*'] }, { Effect: 'Deny', Action: ['identity:*'] }]
}
const tenantGuest: IamPolicy = {
  Version: '1.0',
  Statement: [{ Effect: 'Allow', Action: ['*:*:Get*', '*:*:List*'] }, { Effect: 'Deny', Action: ['identity:*'] }]
}
const evsFullAccess: IamPolicy = { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:*:*'] }] }
const evsReadOnlyAccess: IamPolicy = { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['evs:*:get*', 'evs:*:list*'] }] }
const serverAdministrator: IamPolicy = {
  Version: '1.0',
  Statement: [{ Effect: 'Allow', Action: ['ecs:*:*', 'evs:*:*', 'vpc:*:*', 'ims:*:*'] }]
}

/**
 * Built-in roles by display name and by internal name where that name is stable across Huawei clouds.
 * The `system_all_N` names of EVS FullAccess / ReadOnlyAccess differ between clouds (published lists
 * disagree), so they are not built in: map them through the `policies` option.
 */
export const systemPolicies: Readonly<Record<string, IamPolicy>> = deepFreeze({
  'Tenant Administrator': tenantAdministrator,
  te_admin: tenantAdministrator,
  'Tenant Guest': tenantGuest,
  readonly: tenantGuest,
  'EVS FullAccess': evsFullAccess,
  'EVS ReadOnlyAccess': evsReadOnlyAccess,
  'Server Administrator': serverAdministrator,
  server_adm: serverAdministrator
})

/** Role name → compiled statements. */
export type Catalogue = ReadonlyMap<string, readonly CompiledStatement[]>

/** Compiles the built-in roles plus user entries (which add or replace by name). Throws EVS_AUTHZ_ERR_POLICY. */
export function compileCatalogue (extra: unknown): Catalogue {
  const problems = new ProblemList()
  if (extra !== undefined && !isRecord(extra)) {
    problems.add('policies', `should be an object mapping role names to policy documents, instead got ${describe(extra)}`)
  }
  const entries = { ...systemPolicies, ...(isRecord(extra) ? extra : undefined) }
  const catalogue = new Map<string, readonly CompiledStatement[]>()
  for (const [name, value] of Object.entries(entries)) {
    const documents = Array.isArray(value) ? value : [value]
    const statements = documents.flatMap((document, i) =>
      compilePolicy(document, Array.isArray(value) ? `policies[${JSON.stringify(name)}][${i}]` : `policies[${JSON.stringify(name)}]`,
        problems.items))
    catalogue.set(name, Object.freeze(statements))
  }
  problems.throwIfAny('EVS_AUTHZ_ERR_POLICY', 'Invalid policy catalogue')
  return catalogue
}
