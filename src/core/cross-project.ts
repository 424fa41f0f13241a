// Cross-project list parameters. Cinder's list routes take `all_tenants` (and `all_projects`); against a
// backend that trusts the gateway (noauth Cinder, an admin service token) they list every project's
// resources. Both OpenStack CLIs send `all_tenants=1` when they look a snapshot up by name, so by default
// the parameters are removed from the forwarded URL (the lookup then stays in the caller's project);
// `crossProjectQuery: 'deny'` refuses such requests instead. Only an explicit grant of
// `evs:snapshots:listAllProjects` (no wildcard) keeps them.

/** The action that keeps cross-project parameters; granted only by naming it exactly. */
export const ALL_PROJECTS_ACTION = 'evs:snapshots:listAllProjects'

const CROSS_PROJECT_PARAMS = new Set(['all_tenants', 'all_projects'])

/** The URL without cross-project parameters, or undefined when it has none. */
export function withoutCrossProjectParams (url: string): string | undefined {
  const q = url.indexOf('?')
  if (q === -1) return undefined
  const query = url.slice(q + 1)
  // Fast path: nothing that could spell one of the names.
  if (!/all|%/i.test(query)) return undefined
  const kept: string[] = []
  let dropped = false
  for (const pair of query.split('&')) {
    const rawName = pair.split('=', 1)[0] ?? ''
    let name = rawName
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '))
    } catch {
      // An undecodable name is kept as written: it cannot be read as a cross-project parameter either.
    }
    if (CROSS_PROJECT_PARAMS.has(name.trim().toLowerCase())) dropped = true
    else kept.push(pair)
  }
  if (!dropped) return undefined
  return kept.length === 0 ? url.slice(0, q) : `${url.slice(0, q)}?${kept.join('&')}`
}
