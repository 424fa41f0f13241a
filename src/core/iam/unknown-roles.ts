// A role the catalogue does not know grants nothing. A silent no-op hides the usual mistake (a custom role
// such as `snap_ops` used without a `policies` entry), so denials name the unknown roles in their detail.
// Role names come from the token: shown as data, shortened, a few at most, log-safe characters only.

const SHOWN_ROLES = 3
const SHOWN_LENGTH = 64

/** The detail for a denial of a caller with unknown roles (undefined when every role is known). */
export function unknownRolesDetail (roles: readonly string[]): string | undefined {
  if (roles.length === 0) return undefined
  const unique = [...new Set(roles)]
  const shown = unique.slice(0, SHOWN_ROLES).map((role) => JSON.stringify(role.slice(0, SHOWN_LENGTH).replace(/[^\w .:@-]/g, '?')))
  const more = unique.length > SHOWN_ROLES ? ` and ${unique.length - SHOWN_ROLES} more` : ''
  const one = unique.length === 1
  return `unknown role${one ? '' : 's'} ${shown.join(', ')}${more} granted nothing: add ${one ? 'it' : 'them'} to the policies option`
}
