// Keystone's default roles (reader, member, admin) as EVS snapshot policies, modelled on Cinder's
// secure-RBAC snapshot defaults with `enforce_new_defaults = true`. Not part of the built-in catalogue:
// a Huawei IAM token never carries these names with this meaning, so they apply only where the Keystone
// identity (or the operator, through `policies`) adds them. See docs/keystone.md "Roles".
import type { IamPolicy } from '../core/index.js'
import { deepFreeze } from '../core/support/frozen.js'

const READ = ['evs:snapshots:get', 'evs:snapshots:list', 'evs:volumes:get']
const WRITE = ['evs:snapshots:create', 'evs:snapshots:update', 'evs:snapshots:delete', 'evs:snapshots:rollback']

const reader: IamPolicy = { Version: '1.1', Statement: [{ Effect: 'Allow', Action: READ }] }
const member: IamPolicy = { Version: '1.1', Statement: [{ Effect: 'Allow', Action: [...READ, ...WRITE] }] }

/**
 * `reader`: get and list; `member`: every snapshot operation of its project; `admin`: the same as member
 * (Keystone tokens list the implied member and reader too). No role gets `evs:snapshots:listAllProjects`
 * (all_tenants / all_projects are stripped or denied), and every role stays inside the project of the
 * token: the gate compares the URL's project with the token's, where Cinder's `role:admin` is global.
 */
export const keystoneDefaultRoles: Readonly<Record<string, IamPolicy>> = deepFreeze({ reader, member, admin: member })
