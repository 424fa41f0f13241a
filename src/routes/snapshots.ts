// The built-in table: Huawei's EVS snapshot permission table (page evs_04_0027, 19 v2 rows)
// plus v3 twins of every row Huawei offers in v3 (Cinder snapshots, metadata, os-vendor rollback).
// Huawei has no /v3/{project_id}/cloudsnapshots, so those rows have no twin. Provenance: docs/permission-table.md.
import type { EnterpriseProjectSource, RouteDefinition } from '../core/routing/route-table.js'
import { deepFreeze } from '../core/support/frozen.js'
import { EVS_ACTIONS as A, type EvsAction } from './actions.js'

/** A built-in row: actions only from EVS_ACTIONS (a misspelt one fails to compile) and a description always. */
export interface BuiltInRoute extends RouteDefinition {
  readonly actions: readonly EvsAction[]
  readonly description: string
}

// Which enterprise project each EP-capable request touches (docs/permission-table.md, "Enterprise projects").
// v2 snapshots carry no enterprise_project_id, so a snapshot's EP is its source volume's.
const listQuery: readonly EnterpriseProjectSource[] = [{ from: 'query', name: 'enterprise_project_id' }]
const createdFrom: readonly EnterpriseProjectSource[] = [{ from: 'body', path: ['snapshot', 'volume_id'], kind: 'volume' }]
const ofSnapshot: readonly EnterpriseProjectSource[] = [{ from: 'param', name: 'snapshot_id', kind: 'snapshot' }]
const rollbackTouches: readonly EnterpriseProjectSource[] = [
  ...ofSnapshot,
  { from: 'body', path: ['rollback', 'volume_id'], kind: 'volume' }
]

const v2Rows: readonly BuiltInRoute[] = [
  {
    method: 'POST',
    template: '/v2/{project_id}/snapshots',
    actions: [A.snapshotsCreate, A.volumesGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Create a snapshot (OpenStack Cinder)',
    description: 'Creates a snapshot of the volume the body names (snapshot.volume_id).'
  },
  {
    method: 'POST',
    template: '/v2/{project_id}/cloudsnapshots',
    actions: [A.snapshotsCreate],
    enterpriseProject: true,
    enterpriseProjectFrom: createdFrom,
    family: 'evs',
    name: 'Create a snapshot',
    description: 'Creates a snapshot of the volume the body names; its enterprise project is that volume\'s.'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/snapshots',
    actions: [A.snapshotsList],
    enterpriseProject: false,
    family: 'cinder',
    name: 'List snapshots (OpenStack Cinder)',
    description: 'Lists the project\'s snapshots (summary fields).'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/snapshots/detail',
    actions: [A.snapshotsList],
    enterpriseProject: false,
    family: 'cinder',
    name: 'List snapshots with details (OpenStack Cinder)',
    description: 'Lists the project\'s snapshots with all their fields.'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/cloudsnapshots/detail',
    actions: [A.snapshotsList],
    enterpriseProject: true,
    enterpriseProjectFrom: listQuery,
    family: 'evs',
    name: 'List snapshots with details',
    description: 'Lists snapshots with all their fields, filtered by the enterprise_project_id query parameter when given.'
  },
  {
    method: 'PUT',
    template: '/v2/{project_id}/snapshots/{snapshot_id}',
    actions: [A.snapshotsUpdate, A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Update a snapshot (OpenStack Cinder)',
    description: 'Changes a snapshot\'s name or description.'
  },
  {
    method: 'PUT',
    template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}',
    actions: [A.snapshotsUpdate],
    enterpriseProject: true,
    enterpriseProjectFrom: ofSnapshot,
    family: 'evs',
    name: 'Update a snapshot',
    description: 'Changes a snapshot\'s name or description; its enterprise project is its source volume\'s.'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/snapshots/{snapshot_id}',
    actions: [A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Query snapshot details (OpenStack Cinder)',
    description: 'Shows one snapshot.'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}',
    actions: [A.snapshotsGet],
    enterpriseProject: true,
    enterpriseProjectFrom: ofSnapshot,
    family: 'evs',
    name: 'Query snapshot details',
    description: 'Shows one snapshot; its enterprise project is its source volume\'s.'
  },
  {
    method: 'DELETE',
    template: '/v2/{project_id}/snapshots/{snapshot_id}',
    actions: [A.snapshotsDelete, A.snapshotsGet, A.volumesGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Delete a snapshot (OpenStack Cinder)',
    description: 'Deletes one snapshot.'
  },
  {
    method: 'DELETE',
    template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}',
    actions: [A.snapshotsDelete],
    enterpriseProject: true,
    enterpriseProjectFrom: ofSnapshot,
    family: 'evs',
    name: 'Delete a snapshot',
    description: 'Deletes one snapshot; its enterprise project is its source volume\'s.'
  },
  {
    method: 'POST',
    template: '/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback',
    actions: [A.snapshotsRollback],
    enterpriseProject: true,
    enterpriseProjectFrom: rollbackTouches,
    family: 'evs',
    name: 'Roll back a snapshot to its disk',
    description: 'Restores the snapshot\'s data to the volume the body names; the enterprise projects of both are checked.'
  },
  {
    method: 'POST',
    template: '/v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback',
    actions: [A.snapshotsRollback, A.snapshotsGet, A.volumesGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Roll back a snapshot to its disk (os-vendor-snapshots)',
    description: 'Restores the snapshot\'s data to its volume (Huawei\'s os-vendor-snapshots extension of the Cinder API).'
  },
  {
    method: 'POST',
    template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata',
    actions: [A.snapshotsUpdate, A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Add snapshot metadata (OpenStack Cinder)',
    description: 'Adds metadata items to a snapshot or changes them; items the body does not name are kept.'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata',
    actions: [A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Query snapshot metadata (OpenStack Cinder)',
    description: 'Shows all metadata items of a snapshot.'
  },
  {
    method: 'PUT',
    template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}',
    actions: [A.snapshotsUpdate, A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Update one snapshot metadata item (OpenStack Cinder)',
    description: 'Sets the value of one metadata item of a snapshot.'
  },
  {
    method: 'PUT',
    template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata',
    actions: [A.snapshotsUpdate, A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Replace snapshot metadata (OpenStack Cinder)',
    description: 'Replaces all metadata items of a snapshot with those in the body.'
  },
  {
    method: 'GET',
    template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}',
    actions: [A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Query one snapshot metadata item (OpenStack Cinder)',
    description: 'Shows one metadata item of a snapshot.'
  },
  {
    method: 'DELETE',
    template: '/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}',
    actions: [A.snapshotsDelete, A.snapshotsGet],
    enterpriseProject: false,
    family: 'cinder',
    name: 'Delete one snapshot metadata item (OpenStack Cinder)',
    description: 'Deletes one metadata item of a snapshot.'
  }
]

/** "A v3 API that offers the same function as its v2 twin needs the same actions" (seed table preamble). */
function v3Twin (row: BuiltInRoute): BuiltInRoute {
  return { ...row, template: row.template.replace(/^\/v2\//, '/v3/'), name: `${row.name} v3` }
}

/** The built-in EVS snapshot route table: 19 v2 rows, then 13 v3 twins (frozen, rows and actions too). */
export const snapshotRoutes: readonly RouteDefinition[] = deepFreeze<BuiltInRoute[]>([
  ...v2Rows,
  ...v2Rows.filter((row) => !row.template.includes('/cloudsnapshots')).map(v3Twin)
])
