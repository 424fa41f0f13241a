// The IAM actions the built-in table requires, by name. Rows name actions through these constants (and the row type
// accepts only their values), so a misspelt action such as `evs:snapshot:get` fails to compile instead of never matching.
// The values are Huawei's EVS action names as the seed permission table spells them (docs/permission-table.md).

/** Every IAM action the built-in snapshot table uses. */
export const EVS_ACTIONS = {
  snapshotsCreate: 'evs:snapshots:create',
  snapshotsList: 'evs:snapshots:list',
  snapshotsGet: 'evs:snapshots:get',
  snapshotsUpdate: 'evs:snapshots:update',
  snapshotsDelete: 'evs:snapshots:delete',
  snapshotsRollback: 'evs:snapshots:rollback',
  volumesGet: 'evs:volumes:get'
} as const

/** One of the actions in EVS_ACTIONS. */
export type EvsAction = typeof EVS_ACTIONS[keyof typeof EVS_ACTIONS]
