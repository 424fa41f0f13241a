// Counting decisions by outcome and reason with onDecision, e.g. to expose them to Prometheus.
// With prom-client: new Counter({ name: 'evs_authz_decisions_total', labelNames: ['decision', 'reason', 'route'] })
// and counter.inc(labels) instead of the Map below.
import type { Decision } from 'evs-authz'

export interface DecisionCounter {
  readonly onDecision: (decision: Decision) => void
  /** Prometheus text exposition of the counts. */
  render (): string
}

export function countDecisions (): DecisionCounter {
  const counts = new Map<string, number>()
  return {
    onDecision (decision) {
      const labels = `decision="${decision.kind}",reason="${decision.reason}",route="${decision.route?.template ?? ''}"`
      counts.set(labels, (counts.get(labels) ?? 0) + 1)
    },
    render () {
      const lines = ['# HELP evs_authz_decisions_total evs-authz decisions by outcome and reason.',
        '# TYPE evs_authz_decisions_total counter']
      for (const [labels, count] of [...counts].sort()) lines.push(`evs_authz_decisions_total{${labels}} ${count}`)
      return `${lines.join('\n')}\n`
    }
  }
}
