// The gateway's Prometheus metrics (prom-client, a registry of its own) and the separate listener that
// serves them at /metrics: decisions by reason and route, token validations by outcome, cache lookups
// by result, and the latency of Keystone validations.
import { createServer, type Server } from 'node:http'
import { Counter, Histogram, Registry } from 'prom-client'
import type { Decision } from '../core/index.js'
import type { IdentityEvent } from '../identity/keystone.js'

export interface GatewayMetrics {
  readonly registry: Registry
  onDecision (decision: Decision): void
  onIdentityEvent (event: IdentityEvent): void
}

export function createGatewayMetrics (): GatewayMetrics {
  const registry = new Registry()
  const decisions = new Counter({
    name: 'evs_authz_decisions_total',
    help: 'evs-authz decisions by outcome, reason and route template.',
    labelNames: ['decision', 'reason', 'route'] as const,
    registers: [registry]
  })
  const validations = new Counter({
    name: 'evs_authz_token_validations_total',
    help: 'Token validations that reached Keystone, by outcome (valid, invalid, not-project-scoped, unavailable).',
    labelNames: ['outcome'] as const,
    registers: [registry]
  })
  const cache = new Counter({
    name: 'evs_authz_token_cache_lookups_total',
    help: 'Token cache lookups by result: hit, negative-hit (refused from cache), miss (Keystone asked), ' +
      'coalesced (waited for a call in flight).',
    labelNames: ['result'] as const,
    registers: [registry]
  })
  const latency = new Histogram({
    name: 'evs_authz_token_validation_seconds',
    help: 'Latency of token validations that reached Keystone.',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry]
  })
  return {
    registry,
    onDecision (decision) {
      decisions.inc({ decision: decision.kind, reason: decision.reason, route: decision.route?.template ?? '' })
    },
    onIdentityEvent (event) {
      if (event.type === 'cache') {
        cache.inc({ result: event.result })
        return
      }
      validations.inc({ outcome: event.outcome })
      latency.observe(event.seconds)
    }
  }
}

/** GET /metrics on its own listener (never the proxied port); everything else is 404. */
export async function serveMetrics (registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text)
    }, () => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
