// Reading untrusted JSON (claims, policy documents, bodies): own entries only, so a name such as
// `constructor` or `__proto__` is data, never something inherited from Object.prototype.

/** A non-array object. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value of an own property, or undefined (inherited properties do not count). */
export function ownValue (value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined
}
