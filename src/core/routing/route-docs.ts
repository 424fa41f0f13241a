// Renders a route table for people: the README section, `evs-authz routes`, reviews of custom tables.
import type { RouteDefinition } from './route-table.js'

/** Output formats of formatRouteTable. */
export type RouteTableFormat = 'markdown' | 'json' | 'table'

/** Renders the rows in table order. */
export function formatRouteTable (routes: readonly RouteDefinition[], format: RouteTableFormat): string {
  if (format === 'json') {
    return JSON.stringify(routes.map((r) => ({ method: r.method, template: r.template, actions: r.actions, enterpriseProject: r.enterpriseProject, family: r.family, name: r.name })), null, 2)
  }
  const rows = routes.map((r) => [r.method, r.template, r.actions.join(' + '), r.enterpriseProject ? 'yes' : 'no', r.family, r.name])
  const header = ['Method', 'Template', 'Required actions (all)', 'EP', 'Family', 'Name']
  if (format === 'markdown') {
    const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
    return [line(header), line(header.map(() => '---')), ...rows.map((cells) => line(cells.map((c, i) => (i < 3 ? `\`${c}\`` : c))))].join('\n')
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((cells) => (cells[i] ?? '').length)))
  const pad = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [pad(header), pad(widths.map((w) => '-'.repeat(w))), ...rows.map(pad)].join('\n')
}
