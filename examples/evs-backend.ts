// An in-memory EVS snapshot backend for the demo gateway and the end-to-end tests. It serves every
// route of the built-in table (v2 cloudsnapshots, v2/v3 Cinder snapshots and metadata, os-vendor
// rollback) with request and response bodies shaped like the Huawei EVS API reference, plus volumes.
// It does no authorization of its own: that is the gateway's job.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

export interface Volume {
  id: string
  name: string
  size: number
  status: string
  enterprise_project_id: string
}

export interface Snapshot {
  id: string
  name: string
  description: string
  status: string
  size: number
  volume_id: string
  created_at: string
  updated_at: string | null
  metadata: Record<string, string>
}

export interface ProjectData {
  volumes: Map<string, Volume>
  snapshots: Map<string, Snapshot>
}

/** Seed data: fixed ids so the printed curl commands and the tests can name them. */
export const DEMO = {
  project: '0123456789abcdef0123456789abcdef',
  otherProject: 'fedcba9876543210fedcba9876543210',
  volume: '6f0c3ac5-8d1e-4a6b-b5f0-4b0e3e6c1a01',
  devVolume: '6f0c3ac5-8d1e-4a6b-b5f0-4b0e3e6c1a02',
  snapshot: '2bf5d7a4-34a1-4d7c-9f7c-1d3f0e9b0b01',
  devSnapshot: '2bf5d7a4-34a1-4d7c-9f7c-1d3f0e9b0b02',
  productionEp: 'a1b2c3d4-0000-4000-8000-00000000e001',
  devEp: 'a1b2c3d4-0000-4000-8000-00000000e002'
} as const

export function seedProjects (): Map<string, ProjectData> {
  const created = '2026-11-01T08:00:00.000000'
  const volume = (id: string, name: string, ep: string): Volume => ({ id, name, size: 40, status: 'available', enterprise_project_id: ep })
  const snapshot = (id: string, name: string, volumeId: string): Snapshot =>
    ({
      id,
      name,
      description: 'seeded',
      status: 'available',
      size: 40,
      volume_id: volumeId,
      created_at: created,
      updated_at: null,
      metadata: { env: name }
    })
  const main: ProjectData = {
    volumes: new Map([[DEMO.volume, volume(DEMO.volume, 'db-data', DEMO.productionEp)],
      [DEMO.devVolume, volume(DEMO.devVolume, 'dev-data', DEMO.devEp)]]),
    snapshots: new Map([[DEMO.snapshot, snapshot(DEMO.snapshot, 'db-nightly', DEMO.volume)],
      [DEMO.devSnapshot, snapshot(DEMO.devSnapshot, 'dev-nightly', DEMO.devVolume)]])
  }
  const other: ProjectData = { volumes: new Map(), snapshots: new Map() }
  return new Map([[DEMO.project, main], [DEMO.otherProject, other]])
}

/**
 * The EPs a caller holds grants in, from the payload of the JWT the gateway forwards (verified there; the
 * backend trusts the gateway): project-wide grants mean every EP, else the `enterprise_projects` ids.
 */
export function grantedEnterpriseProjects (token: string | string[] | undefined): 'all' | ReadonlySet<string> {
  const payload = typeof token === 'string' ? token.split('.')[1] : undefined
  let claims: Record<string, unknown> = {}
  try {
    claims = payload === undefined ? {} : JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return new Set()
  }
  const nonEmpty = (value: unknown): boolean => Array.isArray(value) && value.length > 0
  if (nonEmpty(claims['actions']) || nonEmpty(claims['roles']) || nonEmpty(claims['policies'])) return 'all'
  const scoped = Array.isArray(claims['enterprise_projects']) ? claims['enterprise_projects'] as Array<{ id?: unknown }> : []
  return new Set(scoped.flatMap((entry) => (typeof entry?.id === 'string' ? [entry.id] : [])))
}

type Req = FastifyRequest<{ Params: Record<string, string>, Body: Record<string, Record<string, unknown> | undefined> | undefined }>

/** Builds the backend (not listening). `onRequest` sees every request as the backend receives it. */
export interface EvsBackendOptions {
  projects?: Map<string, ProjectData>
  onRequest?: (method: string, url: string) => void
}

export function buildEvsBackend (options: EvsBackendOptions = {}): FastifyInstance {
  const projects = options.projects ?? seedProjects()
  const app = Fastify({ logger: false })
  if (options.projects === undefined) {
    // The demo's printed commands rename and delete; this puts the seed data back so they can run again.
    app.post('/demo/reset', async (_request, reply) => {
      projects.clear()
      for (const [id, data] of seedProjects()) projects.set(id, data)
      return reply.code(204).send()
    })
  }
  if (options.onRequest !== undefined) {
    const record = options.onRequest
    app.addHook('onRequest', async (request) => record(request.method, request.url))
  }

  const projectOf = (request: Req, reply: FastifyReply): ProjectData | undefined => {
    const project = projects.get(request.params['project_id'] ?? '')
    if (project === undefined) reply.code(404).send(itemNotFound('Project not found.'))
    return project
  }
  const snapshotOf = (request: Req, reply: FastifyReply): Snapshot | undefined => {
    const project = projectOf(request, reply)
    if (project === undefined) return undefined
    const snapshot = project.snapshots.get(request.params['snapshot_id'] ?? '')
    if (snapshot === undefined) reply.code(404).send(itemNotFound(`Snapshot ${request.params['snapshot_id'] ?? ''} could not be found.`))
    return snapshot
  }
  const now = (): string => new Date().toISOString().replace('Z', '000')
  const view = (s: Snapshot, projectId: string): Record<string, unknown> => ({
    ...s,
    'os-extended-snapshot-attributes:project_id': projectId,
    'os-extended-snapshot-attributes:progress': s.status === 'available' ? '100%' : '0%'
  })

  const createSnapshot = (status: number) => async (request: Req, reply: FastifyReply) => {
    const project = projectOf(request, reply)
    if (project === undefined) return reply
    const body = request.body?.['snapshot']
    const volume = project.volumes.get(String(body?.['volume_id'] ?? ''))
    if (volume === undefined) return reply.code(400).send(badRequest('Invalid input received: snapshot.volume_id does not name a volume.'))
    const snapshot: Snapshot = {
      id: randomUUID(),
      name: String(body?.['name'] ?? ''),
      description: String(body?.['description'] ?? ''),
      status: 'available',
      size: volume.size,
      volume_id: volume.id,
      created_at: now(),
      updated_at: null,
      metadata: { ...(body?.['metadata'] as Record<string, string> | undefined) }
    }
    project.snapshots.set(snapshot.id, snapshot)
    return reply.code(status).send({ snapshot: view(snapshot, request.params['project_id'] ?? '') })
  }
  const listSnapshots = (detail: boolean) => async (request: Req, reply: FastifyReply) => {
    const project = projectOf(request, reply)
    if (project === undefined) return reply
    // EVS filters by the enterprise project of each snapshot's source volume; all_granted_eps means every
    // EP the caller holds a grant in, which EVS reads from the caller's token (here: the forwarded JWT).
    const ep = (request.query as Record<string, string | undefined>)['enterprise_project_id']
    const granted = ep === 'all_granted_eps' ? grantedEnterpriseProjects(request.headers['x-auth-token']) : undefined
    const inScope = (s: Snapshot): boolean => {
      const of = project.volumes.get(s.volume_id)?.enterprise_project_id
      if (ep === undefined) return true
      if (granted === undefined) return of === ep
      return granted === 'all' || (of !== undefined && granted.has(of))
    }
    const all = [...project.snapshots.values()].filter(inScope)
    const snapshots = detail
      ? all.map((s) => view(s, request.params['project_id'] ?? ''))
      : all.map(({ id, name, description, status, size, volume_id: volumeId, created_at: createdAt, metadata }) =>
        ({ id, name, description, status, size, volume_id: volumeId, created_at: createdAt, metadata }))
    return { snapshots, count: snapshots.length }
  }
  const showSnapshot = async (request: Req, reply: FastifyReply) => {
    const snapshot = snapshotOf(request, reply)
    return snapshot === undefined ? reply : { snapshot: view(snapshot, request.params['project_id'] ?? '') }
  }
  const updateSnapshot = async (request: Req, reply: FastifyReply) => {
    const snapshot = snapshotOf(request, reply)
    if (snapshot === undefined) return reply
    const body = request.body?.['snapshot'] ?? {}
    if (typeof body['name'] === 'string') snapshot.name = body['name']
    if (typeof body['description'] === 'string') snapshot.description = body['description']
    snapshot.updated_at = now()
    return { snapshot: view(snapshot, request.params['project_id'] ?? '') }
  }
  const deleteSnapshot = (status: number) => async (request: Req, reply: FastifyReply) => {
    const snapshot = snapshotOf(request, reply)
    if (snapshot === undefined) return reply
    projects.get(request.params['project_id'] ?? '')?.snapshots.delete(snapshot.id)
    return reply.code(status).send()
  }
  const rollback = async (request: Req, reply: FastifyReply) => {
    const snapshot = snapshotOf(request, reply)
    if (snapshot === undefined) return reply
    const volumeId = String(request.body?.['rollback']?.['volume_id'] ?? '')
    const volume = projects.get(request.params['project_id'] ?? '')?.volumes.get(volumeId)
    if (volume === undefined || volumeId !== snapshot.volume_id) {
      return reply.code(400).send(badRequest('Invalid input received: rollback.volume_id must be the snapshot\'s source volume.'))
    }
    return reply.code(202).send({ rollback: { volume_id: volume.id, volume_name: volume.name } })
  }
  const metadataOf = (replace: boolean) => async (request: Req, reply: FastifyReply) => {
    const snapshot = snapshotOf(request, reply)
    if (snapshot === undefined) return reply
    if (request.method !== 'GET') {
      const metadata = request.body?.['metadata'] as Record<string, string> | undefined
      if (metadata === undefined) return reply.code(400).send(badRequest('Malformed request body: metadata is required.'))
      snapshot.metadata = replace ? { ...metadata } : { ...snapshot.metadata, ...metadata }
    }
    return { metadata: snapshot.metadata }
  }
  const metadataKey = async (request: Req, reply: FastifyReply) => {
    const snapshot = snapshotOf(request, reply)
    if (snapshot === undefined) return reply
    const key = request.params['key'] ?? ''
    if (request.method === 'PUT') {
      const meta = request.body?.['meta'] as Record<string, string> | undefined
      if (meta === undefined || !(key in meta)) return reply.code(400).send(badRequest('Request body and URI mismatch'))
      snapshot.metadata[key] = String(meta[key])
      return { meta: { [key]: snapshot.metadata[key] } }
    }
    if (!(key in snapshot.metadata)) return reply.code(404).send(itemNotFound(`Metadata item ${key} could not be found.`))
    if (request.method === 'DELETE') {
      snapshot.metadata = Object.fromEntries(Object.entries(snapshot.metadata).filter(([k]) => k !== key))
      return reply.code(200).send()
    }
    return { meta: { [key]: snapshot.metadata[key] } }
  }
  const showVolume = (wrap: string) => async (request: Req, reply: FastifyReply) => {
    const project = projectOf(request, reply)
    if (project === undefined) return reply
    const volume = project.volumes.get(request.params['volume_id'] ?? '')
    return volume === undefined ? reply.code(404).send(itemNotFound('Volume could not be found.')) : { [wrap]: volume }
  }

  for (const v of ['v2', 'v3']) {
    const base = `/${v}/:project_id`
    app.post(`${base}/snapshots`, createSnapshot(202))
    app.get(`${base}/snapshots`, listSnapshots(false))
    app.get(`${base}/snapshots/detail`, listSnapshots(true))
    app.get(`${base}/snapshots/:snapshot_id`, showSnapshot)
    app.put(`${base}/snapshots/:snapshot_id`, updateSnapshot)
    app.delete(`${base}/snapshots/:snapshot_id`, deleteSnapshot(202))
    app.post(`${base}/os-vendor-snapshots/:snapshot_id/rollback`, rollback)
    app.get(`${base}/snapshots/:snapshot_id/metadata`, metadataOf(false))
    app.post(`${base}/snapshots/:snapshot_id/metadata`, metadataOf(false))
    app.put(`${base}/snapshots/:snapshot_id/metadata`, metadataOf(true))
    app.get(`${base}/snapshots/:snapshot_id/metadata/:key`, metadataKey)
    app.put(`${base}/snapshots/:snapshot_id/metadata/:key`, metadataKey)
    app.delete(`${base}/snapshots/:snapshot_id/metadata/:key`, metadataKey)
    app.get(`${base}/volumes/:volume_id`, showVolume('volume'))
  }
  app.post('/v2/:project_id/cloudsnapshots', createSnapshot(200))
  app.get('/v2/:project_id/cloudsnapshots/detail', listSnapshots(true))
  app.get('/v2/:project_id/cloudsnapshots/:snapshot_id', showSnapshot)
  app.put('/v2/:project_id/cloudsnapshots/:snapshot_id', updateSnapshot)
  app.delete('/v2/:project_id/cloudsnapshots/:snapshot_id', deleteSnapshot(200))
  app.post('/v2/:project_id/cloudsnapshots/:snapshot_id/rollback', rollback)
  app.get('/v2/:project_id/cloudvolumes/:volume_id', showVolume('volume'))
  return app
}

function itemNotFound (message: string): unknown {
  return { itemNotFound: { code: 404, message } }
}

function badRequest (message: string): unknown {
  return { badRequest: { code: 400, message } }
}
