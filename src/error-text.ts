// What a caught value says, for one-line messages and log fields. A caught value is `unknown` (anything can be
// thrown): these read it without an `as Error`, so a thrown string or object still gives a readable line.

/** The string `code` of a Node error (ENOENT, EADDRINUSE, ERR_MODULE_NOT_FOUND...), or undefined. */
export function errorCode (error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
  return typeof code === 'string' ? code : undefined
}

/** An Error's message, or the thrown value as text. */
export function errorMessage (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The caught value as an Error, for callbacks that take one (Fastify's done / next). */
export function asError (error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
