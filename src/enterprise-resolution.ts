// Looks up the enterprise project of snapshots and volumes for EP-scoped decisions: through the
// configured resolver, with an LRU cache (lru-cache, TTL-bound) and a timeout. Any failure is reported
// as such so that core denies: an error or a timeout never allows.
import { LRUCache } from 'lru-cache'
import { ownValue, type EnterpriseProjectLookup, type EnterpriseProjectResolution, type ResourceKind } from './core/index.js'

/** What the resolver is asked. */
export interface EnterpriseProjectQuery<R> {
  readonly kind: ResourceKind
  readonly id: string
  /** The project of the request path (the token's project). */
  readonly projectId: string
  readonly request: R
}

/** Returns the enterprise project id of a snapshot or volume, or undefined when it does not exist. */
export type ResolveEnterpriseProject<R> = (query: EnterpriseProjectQuery<R>) => string | undefined | Promise<string | undefined>

/** Cache settings (default: 60 s TTL, 10,000 entries). Failures and unknown ids are never cached. */
export interface EnterpriseProjectCacheOptions {
  readonly ttl?: number
  readonly max?: number
}

export interface ResolutionOptions<R> {
  readonly resolve: ResolveEnterpriseProject<R> | undefined
  readonly cache: EnterpriseProjectCacheOptions
  /** Milliseconds before a lookup counts as failed (default: 2000). */
  readonly timeout: number
}

export type LookupEnterpriseProjects<R> =
  (lookups: readonly EnterpriseProjectLookup[], projectId: string, request: R) => Promise<EnterpriseProjectResolution[]>

export function createEnterpriseProjectLookup<R> (options: ResolutionOptions<R>): LookupEnterpriseProjects<R> {
  const cache = new LRUCache<string, string>({ max: options.cache.max ?? 10_000, ttl: options.cache.ttl ?? 60_000 })
  const resolve = options.resolve

  async function lookupOne (lookup: EnterpriseProjectLookup, projectId: string, request: R): Promise<EnterpriseProjectResolution> {
    const key = `${projectId}\u0000${lookup.kind}\u0000${lookup.id}`
    const cached = cache.get(key)
    if (cached !== undefined) return { lookup, kind: 'found', id: cached, cached: true }
    if (resolve === undefined) return { lookup, kind: 'unknown', detail: 'no resolveEnterpriseProject option is configured' }
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new LookupTimeout(options.timeout)), options.timeout)
      })
      const id = await Promise.race([Promise.resolve().then(() => resolve({ kind: lookup.kind, id: lookup.id, projectId, request })),
        timedOut])
      if (id === undefined || id === null || id === '') return { lookup, kind: 'unknown', detail: 'the resolver found none' }
      if (typeof id !== 'string') return { lookup, kind: 'failed', detail: `the resolver returned a ${typeof id}, not an id` }
      cache.set(key, id)
      return { lookup, kind: 'found', id, cached: false }
    } catch (error) {
      return {
        lookup,
        kind: 'failed',
        detail: error instanceof LookupTimeout
          ? error.message
          : `the resolver threw (${error instanceof Error ? error.name : typeof error})`
      }
    } finally {
      clearTimeout(timer)
    }
  }

  return async (lookups, projectId, request) => await Promise.all(lookups.map((lookup) => lookupOne(lookup, projectId, request)))
}

class LookupTimeout extends Error {
  constructor (ms: number) {
    super(`the resolver timed out after ${ms} ms`)
    this.name = 'LookupTimeout'
  }
}

/** Options of the built-in resolver. */
export interface UpstreamResolverOptions {
  /** The EVS API base URL, e.g. `https://evs.eu-west-0.example.com` or the gateway's upstream. */
  readonly upstream: string
  /** A service token (X-Auth-Token) allowed to read snapshots and volumes, or a function returning one. */
  readonly token: string | (() => string | Promise<string>)
  /** Per-call timeout in milliseconds (default: 2000). */
  readonly timeout?: number
}

/**
 * The built-in resolver: asks the upstream EVS API. A volume's EP is `GET /v2/{project_id}/cloudvolumes/{id}`
 * `volume.enterprise_project_id`; a snapshot's is that of its source volume
 * (`GET /v2/{project_id}/cloudsnapshots/{id}` → `snapshot.volume_id`). 404 means "no such resource".
 */
export function upstreamEnterpriseProjectResolver (options: UpstreamResolverOptions): ResolveEnterpriseProject<unknown> {
  const base = options.upstream.replace(/\/+$/, '')
  const timeout = options.timeout ?? 2000
  async function get (path: string): Promise<unknown> {
    const token = typeof options.token === 'function' ? await options.token() : options.token
    const response = await fetch(`${base}${path}`,
      { headers: { 'x-auth-token': token, accept: 'application/json' }, signal: AbortSignal.timeout(timeout) })
    if (response.status === 404) return undefined
    if (!response.ok) throw new Error(`upstream answered ${response.status}`)
    return await response.json()
  }
  // The upstream's JSON is data: own properties only.
  const field = (body: unknown, wrapper: string, name: string): string | undefined => {
    const value = ownValue(ownValue(body, wrapper), name)
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  return async ({ kind, id, projectId }) => {
    const project = pathSegment(projectId)
    let volumeId: string | undefined = id
    if (kind === 'snapshot') volumeId = field(await get(`/v2/${project}/cloudsnapshots/${pathSegment(id)}`), 'snapshot', 'volume_id')
    if (volumeId === undefined) return undefined
    return field(await get(`/v2/${project}/cloudvolumes/${pathSegment(volumeId)}`), 'volume', 'enterprise_project_id')
  }
}

/** One URL path segment. fetch's URL parser resolves `.` and `..` (even percent-encoded), so those would ask another resource. */
function pathSegment (id: string): string {
  if (id === '.' || id === '..') throw new Error('a dot segment is not a resource id')
  return encodeURIComponent(id)
}
