// Renders a route table for people: the README section, `evs-authz routes`, reviews of custom tables.
import type { RouteDefinition } from './route-table.js'

/** Output formats of formatRouteTable. */
export type RouteTableFormat = 'markdown' | 'json' | 'table'

const HEADER = ['Method', 'Template', 'Required actions (all)', 'EP', 'Family', 'Name', 'Description'] as const
/** Markdown cells shown as code: method, template, actions. */
const CODE_COLUMNS = 3

/** Renders the rows in table order; a row without a description gets an empty Description cell. */
export function formatRouteTable (routes: readonly RouteDefinition[], format: RouteTableFormat): string {
  if (format === 'json') {
    return JSON.stringify(routes.map((r) => ({
      method: r.method,
      template: r.template,
      actions: r.actions,
      enterpriseProject: r.enterpriseProject,
      family: r.family,
      name: r.name,
      description: r.description
    })), null, 2)
  }
  const rows = routes.map((r) => [r.method, r.template, r.actions.join(' + '), r.enterpriseProject ? 'yes' : 'no', r.family, r.name,
    r.description ?? ''])
  if (format === 'markdown') {
    // A "|" in a custom row's text would end its cell.
    const cell = (text: string, column: number): string => (column < CODE_COLUMNS ? `\`${text}\`` : text).replaceAll('|', '\\|')
    const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
    return [line(HEADER), line(HEADER.map(() => '---')), ...rows.map((cells) => line(cells.map(cell)))].join('\n')
  }
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((cells) => (cells[i] ?? '').length)))
  const pad = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [pad(HEADER), pad(widths.map((w) => '-'.repeat(w))), ...rows.map(pad)].join('\n')
}
