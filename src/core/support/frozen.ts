// Data the package exports (the built-in route table, Keystone's default roles) is frozen all the way down.
// An authorizer copies what it compiles, but one built later from an export that some code in the process had
// changed (an action dropped from a row, an Allow added to a role) would enforce the changed data.

/** Freezes `value` and every plain object and array inside it (other objects, such as RegExps, are left as they are). */
export function deepFreeze<T> (value: T): T {
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const item = pending.pop()
    if (typeof item !== 'object' || item === null || Object.isFrozen(item)) continue
    const prototype: unknown = Object.getPrototypeOf(item)
    if (!Array.isArray(item) && prototype !== Object.prototype && prototype !== null) continue
    Object.freeze(item)
    for (const child of Object.values(item)) pending.push(child)
  }
  return value
}
