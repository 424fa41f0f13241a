// "Did you mean": the closest known name to a mistyped one, for configuration errors.

/** Names longer than this are not compared (a typo of a short option name is short too): cost stays bounded. */
const MAX_COMPARED = 64

/** Levenshtein distance between two strings (insertions, deletions, substitutions), two rows of memory. */
export function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/**
 * The known name closest to `name` (case-insensitively), if it is close enough to be a typo: at most a
 * third of the name's length in edits, and at least one edit allowed (`unmatchd` → `unmatched`).
 */
export function closestName (name: string, known: readonly string[]): string | undefined {
  if (name.length > MAX_COMPARED) return undefined
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}
