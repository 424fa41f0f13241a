// Shared inputs: the project, concrete request targets for every row of a table, the fixed request
// mix (every route plus 20% paths that match nothing), claims for each persona, synthetic tables.
import { snapshotRoutes, type IamPolicy, type RouteDefinition } from 'evs-authz'

export const PROJECT = '0123456789abcdef0123456789abcdef'
export const OTHER_PROJECT = 'fedcba9876543210fedcba9876543210'
export const SNAPSHOT = '2bf5d7a4-34a1-4d7c-9f7c-1d3f0e9b0b01'
export const META_KEY = 'env'

export interface BenchRequest {
  readonly method: string
  /** Origin-form request target (no query string). */
  readonly url: string
  /** The row's template, or undefined when the request must match nothing. */
  readonly template: string | undefined
}

/** A concrete target for a `{name}` template. */
export function fill (template: string): string {
  return template.replace(/\{([^{}]+)\}/g, (_, name: string) => name === 'project_id' ? PROJECT : name === 'key' ? META_KEY : SNAPSHOT)
}

/** One request per row, in table order. */
export function routeRequests (rows: readonly RouteDefinition[]): BenchRequest[] {
  return rows.map((row) => ({ method: row.method, url: fill(row.template), template: row.template }))
}

/** Paths (and one method) that no row matches, in every matcher. */
export const UNMATCHED: readonly BenchRequest[] = [
  { method: 'GET', url: `/v2/${PROJECT}/volumes/${SNAPSHOT}`, template: undefined },
  { method: 'POST', url: `/v2/${PROJECT}/snapshots/${SNAPSHOT}/action`, template: undefined },
  { method: 'GET', url: `/v3/${PROJECT}/cloudsnapshots/detail`, template: undefined },
  { method: 'GET', url: `/v2/${PROJECT}/snapshots/${SNAPSHOT}/metadata/${META_KEY}/extra`, template: undefined },
  { method: 'GET', url: `/v1/${PROJECT}/snapshots`, template: undefined },
  { method: 'GET', url: `/v2/${PROJECT}/backups/detail`, template: undefined },
  { method: 'GET', url: `/v2/${PROJECT}/os-vendor-snapshots/${SNAPSHOT}`, template: undefined },
  { method: 'PATCH', url: `/v2/${PROJECT}/snapshots/${SNAPSHOT}`, template: undefined }
]

/** Every built-in route (v2 and v3) plus 20% requests that match nothing. */
export function requestMix (): BenchRequest[] {
  const routes = routeRequests(snapshotRoutes)
  const unmatched = Math.round(routes.length / 4) // 32 routes + 8 = 40 requests, 8/40 = 20%
  const mix = [...routes]
  for (let i = 0; i < unmatched; i++) mix.push(UNMATCHED[i % UNMATCHED.length] as BenchRequest)
  return mix
}

/** The 19 v2 rows of Huawei's table. */
export function v2Rows (): RouteDefinition[] {
  return snapshotRoutes.filter((row) => row.template.startsWith('/v2/'))
}

/** The v2 rows plus synthetic rows with distinct static collection names, `total` rows in all. */
export function syntheticTable (total: number): RouteDefinition[] {
  const rows = v2Rows()
  const methods = ['GET', 'PUT', 'DELETE', 'POST'] as const
  for (let i = rows.length; i < total; i++) {
    rows.push({
      method: methods[i % methods.length] as RouteDefinition['method'],
      template: `/v2/{project_id}/collection-${i.toString(36)}/{snapshot_id}`,
      actions: ['evs:snapshots:get'],
      enterpriseProject: false,
      family: 'cinder',
      name: `Synthetic row ${i}`
    })
  }
  return rows
}

// Personas. Claims are plain JSON, as a JWT verifier hands them over.

export const plainActions = (): object => ({
  sub: 'u-plain',
  project_id: PROJECT,
  actions: ['evs:snapshots:get', 'evs:snapshots:list', 'evs:volumes:get']
})

export const tenantAdmin = (): object => ({ sub: 'u-admin', project_id: PROJECT, roles: ['te_admin'] })

/** Two policies, 20 statements in all (10 each): globs on several services and one explicit Deny. */
export function twoPolicies (): object {
  const first: IamPolicy = {
    Version: '1.1',
    Statement: [
      { Effect: 'Allow', Action: ['ecs:*:get*', 'ecs:*:list*'] },
      { Effect: 'Allow', Action: ['vpc:*:get*'] },
      { Effect: 'Allow', Action: ['ims:images:list'] },
      { Effect: 'Allow', Action: ['evs:*:get*'] },
      { Effect: 'Allow', Action: ['evs:snapshots:list*'] },
      { Effect: 'Allow', Action: ['evs:volumes:*'] },
      { Effect: 'Allow', Action: ['cbr:*:*'] },
      { Effect: 'Allow', Action: ['ces:*:list*'] },
      { Effect: 'Allow', Action: ['*:*:Get*'] },
      { Effect: 'Deny', Action: ['evs:snapshots:delete'] }
    ]
  }
  const second: IamPolicy = {
    Version: '1.1',
    Statement: [
      { Effect: 'Allow', Action: ['evs:snapshots:create', 'evs:snapshots:update'] },
      { Effect: 'Allow', Action: ['evs:snapshots:roll*'] },
      { Effect: 'Allow', Action: ['ecs:servers:start', 'ecs:servers:stop'] },
      { Effect: 'Allow', Action: ['obs:bucket:*'] },
      { Effect: 'Allow', Action: ['kms:*:*'] },
      { Effect: 'Allow', Action: ['dss:*:get*'] },
      { Effect: 'Allow', Action: ['elb:*:list*'] },
      { Effect: 'Allow', Action: ['as:*:*'] },
      { Effect: 'Allow', Action: ['rds:*:*Instance*'] },
      { Effect: 'Allow', Action: ['sfs:*:get*'] }
    ]
  }
  return { sub: 'u-operator', project_id: PROJECT, policies: [first, second] }
}

const SERVICES = ['ecs', 'vpc', 'ims', 'cbr', 'ces', 'obs', 'kms', 'dss', 'elb', 'as', 'rds', 'sfs', 'dns', 'nat', 'waf', 'lts', 'aom',
  'cts', 'smn', 'dms']

/**
 * One policy of `count` statements. All but a few name other services (the scan must pass them);
 * the EVS grants and one Deny sit at the end, so evaluating an EVS action visits every statement.
 */
export function bigPolicy (count: number, sub = 'u-big'): object {
  const statements: IamPolicy['Statement'][number][] = []
  const evs: IamPolicy['Statement'][number][] = count === 1
    ? [{ Effect: 'Allow', Action: ['evs:*:*'] }]
    : [{ Effect: 'Allow', Action: ['evs:*:get*', 'evs:*:list*'] }, { Effect: 'Allow', Action: ['evs:snapshots:*'] },
        { Effect: 'Deny', Action: ['evs:snapshots:rollback'] }]
  for (let i = 0; statements.length < count - evs.length; i++) {
    const service = SERVICES[i % SERVICES.length] as string
    const resource = `resource${Math.floor(i / SERVICES.length)}`
    statements.push({ Effect: 'Allow', Action: i % 3 === 0 ? [`${service}:${resource}:get*`] : [`${service}:${resource}:op${i}`] })
  }
  statements.push(...evs)
  return { sub, project_id: PROJECT, policies: [{ Version: '1.1', Statement: statements }] }
}

/** A token that grants nothing EVS: every request is a 403 missing-action. */
export const noEvs = (): object => ({ sub: 'u-none', project_id: PROJECT, actions: ['ecs:servers:list'] })
