// The built-in table: Huawei's EVS snapshot permission table (seed 000_e8efb383399db057, 19 v2 rows)
// plus v3 twins of every row Huawei offers in v3 (Cinder snapshots, metadata, os-vendor rollback).
// Huawei has no /v3/{project_id}/cloudsnapshots, so those rows have no twin.
import type { EnterpriseProjectSource, RouteDefinition } from '../core/routing/route-table.js'
import { deepFreeze } from '../core/support/frozen.js'

// Which enterprise project each EP-capable request touches (docs/permission-table.md, "Enterprise projects").
// v2 snapshots carry no enterprise_project_id, so a snapshot's EP is its source volume's.
const listQuery: readonly EnterpriseProjectSource[] = [{ from: 'query', name: 'enterprise_project_id' }]
const createdFrom: readonly EnterpriseProjectSource[] = [{ from: 'body', path: ['snapshot', 'volume_id'], kind: 'volume' }]
const ofSnapshot: readonly EnterpriseProjectSource[] = [{ from: 'param', name: 'snapshot_id', kind: 'snapshot' }]
const rollbackTouches: readonly EnterpriseProjectSource[] = [...ofSnapshot, { from: 'body', path: ['rollback', 'volume_id'], kind: 'volume' }]

const v2Rows: readonly RouteDefinition[] = [
  { method: 'POST', template: '/v2/{project_id}/snapshots', actions: ['evs:snapshots:create', 'evs:volumes:get'], enterpriseProject: false, family: 'cinder', name: 'Create a snapshot (OpenStack Cinder)' },
  { method: 'POST', template: '/v2/{project_id}/cloudsnapshots', actions: ['evs:snapshots:create'], enterpriseProject: true, enterpriseProjectFrom: createdFrom, family: 'evs', name: 'Create a snapshot' },
  { method: 'GET', template: '/v2/{project_id}/snapshots', actions: ['evs:snapshots:list'], enterpriseProject: false, family: 'cinder', name: 'List snapshots (OpenStack Cinder)' },
  { method: 'GET', template: '/v2/{project_id}/snapshots/detail', actions: ['evs:snapshots:list'], enterpriseProject: false, family: 'cinder', name: 'List snapshots with details (OpenStack Cinder)' },
  { method: 'GET', template: '/v2/{project_id}/cloudsnapshots/detail', actions: ['evs:snapshots:list'], enterpriseProject: true, enterpriseProjectFrom: listQuery, family: 'evs', name: 'List snapshots with details' },
  { method: 'PUT', template: '/v2/{project_id}/snapshots/{snapshot_id}', actions: ['evs:snapshots:update', 'evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Update a snapshot (OpenStack Cinder)' },
  { method: 'PUT', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}', actions: ['evs:snapshots:update'], enterpriseProject: true, enterpriseProjectFrom: ofSnapshot, family: 'evs', name: 'Update a snapshot' },
  { method: 'GET', template: '/v2/{project_id}/snapshots/{snapshot_id}', actions: ['evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Query snapshot details (OpenStack Cinder)' },
  { method: 'GET', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}', actions: ['evs:snapshots:get'], enterpriseProject: true, enterpriseProjectFrom: ofSnapshot, family: 'evs', name: 'Query snapshot details' },
  { method: 'DELETE', template: '/v2/{project_id}/snapshots/{snapshot_id}', actions: ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'], enterpriseProject: false, family: 'cinder', name: 'Delete a snapshot (OpenStack Cinder)' },
  { method: 'DELETE', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}', actions: ['evs:snapshots:delete'], enterpriseProject: true, enterpriseProjectFrom: ofSnapshot, family: 'evs', name: 'Delete a snapshot' },
  { method: 'POST', template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback', actions: ['evs:snapshots:rollback'], enterpriseProject: true, enterpriseProjectFrom: rollbackTouches, family: 'evs', name: 'Roll back a snapshot to its disk' },
  { method: 'POST', template: '/v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback', actions: ['evs:snapshots:rollback', 'evs:snapshots:get', 'evs:volumes:get'], enterpriseProject: false, family: 'cinder', name: 'Roll back a snapshot to its disk (os-vendor-snapshots)' },
  { method: 'POST', template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata', actions: ['evs:snapshots:update', 'evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Add snapshot metadata (OpenStack Cinder)' },
  { method: 'GET', template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata', actions: ['evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Query snapshot metadata (OpenStack Cinder)' },
  { method: 'PUT', template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', actions: ['evs:snapshots:update', 'evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Update one snapshot metadata item (OpenStack Cinder)' },
  { method: 'PUT', template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata', actions: ['evs:snapshots:update', 'evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Replace snapshot metadata (OpenStack Cinder)' },
  { method: 'GET', template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', actions: ['evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Query one snapshot metadata item (OpenStack Cinder)' },
  { method: 'DELETE', template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', actions: ['evs:snapshots:delete', 'evs:snapshots:get'], enterpriseProject: false, family: 'cinder', name: 'Delete one snapshot metadata item (OpenStack Cinder)' }
]

/** "A v3 API that offers the same function as its v2 twin needs the same actions" (seed table preamble). */
function v3Twin (row: RouteDefinition): RouteDefinition {
  return { ...row, template: row.template.replace(/^\/v2\//, '/v3/'), name: `${row.name} v3` }
}

/** The built-in EVS snapshot route table: 19 v2 rows, then 13 v3 twins (frozen, rows and actions too). */
export const snapshotRoutes: readonly RouteDefinition[] = deepFreeze([
  ...v2Rows,
  ...v2Rows.filter((row) => !row.template.includes('/cloudsnapshots')).map(v3Twin)
])
