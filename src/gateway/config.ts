// The `evs-authz gateway` configuration file: JSON, read once at start, every problem listed. Secrets may
// come from the environment (passwordEnv, secretEnv); files (policies, keys) are read relative to the
// configuration file. Nothing here logs or echoes a secret.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigurationError, createAuthorizer, type IamPolicy, type Mode } from '../core/index.js'
import { errorCode, errorMessage } from '../error-text.js'
import { isKeystoneFileOptions, keystoneOptionProblems, type KeystoneFileOptions } from '../identity/keystone.js'

export interface KeystoneIdentityConfig {
  readonly options: KeystoneFileOptions
  /** Add the Keystone default roles (reader, member, admin) under the configured policies (default true). */
  readonly defaultRoles: boolean
  /** Also send keystonemiddleware's identity headers (X-User-Id, X-Roles, ...) upstream (default false). */
  readonly forwardIdentityHeaders: boolean
}

export interface JwtIdentityConfig {
  /** A PEM public key, or an HMAC secret (demo only). */
  readonly key: string
  readonly kind: 'public' | 'secret'
  readonly algorithms: readonly JwtAlgorithm[]
  readonly issuer: string | undefined
  readonly audience: string | undefined
}

export interface AuthzConfig {
  readonly mode?: Mode
  readonly unmatched?: 'deny' | 'pass'
  readonly crossProjectQuery?: 'strip' | 'deny'
  readonly prefix?: string
  readonly projectIdPattern?: RegExp
  readonly bodyLimit?: number
}

export interface GatewayConfig {
  readonly listen: { readonly host: string, readonly port: number }
  readonly upstream: string
  readonly identity: { readonly keystone: KeystoneIdentityConfig } | { readonly jwt: JwtIdentityConfig }
  readonly policies: Readonly<Record<string, IamPolicy | readonly IamPolicy[]>>
  readonly authz: AuthzConfig
  readonly metrics: { readonly host: string, readonly port: number } | undefined
  readonly logLevel: string
  /** Milliseconds to wait for in-flight requests on SIGTERM / SIGINT before closing anyway. */
  readonly drainMs: number
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const show = (value: unknown): string => JSON.stringify(value) ?? String(value)
const URL_PATTERN = /^https?:\/\/[^\s/?#]+$/
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const JWT_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'
] as const
/** The JWT algorithms a configuration may pin (all of them signatures: never `none`). */
export type JwtAlgorithm = typeof JWT_ALGORITHMS[number]
const isJwtAlgorithm = (value: unknown): value is JwtAlgorithm => JWT_ALGORITHMS.some((name) => name === value)

/** Thrown with every problem of a configuration file. */
export class GatewayConfigError extends Error {
  readonly problems: readonly string[]
  constructor (file: string, problems: readonly string[]) {
    const list = problems.map((p) => `  - ${p}`).join('\n')
    super(`invalid gateway configuration ${file} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${list}`)
    this.name = 'GatewayConfigError'
    this.problems = problems
  }
}

/** Reads and validates a configuration file. Throws GatewayConfigError listing every problem. */
export function loadGatewayConfig (file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new GatewayConfigError(file, [`cannot read the file: ${errorCode(error) ?? String(error)}`])
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new GatewayConfigError(file, [`not JSON: ${errorMessage(error)}`])
  }
  return parseGatewayConfig(json, dirname(resolve(file)), env, file)
}

/** Validates a parsed configuration; `base` is where relative file paths start. */
export function parseGatewayConfig (json: unknown, base: string, env: NodeJS.ProcessEnv, file = 'configuration'): GatewayConfig {
  const problems: string[] = []
  if (!isObject(json)) throw new GatewayConfigError(file, [`should be a JSON object, instead got ${show(json)}`])
  const known = ['listen', 'upstream', 'identity', 'policies', 'authz', 'metrics', 'logLevel', 'drainMs']
  for (const key of Object.keys(json)) if (!known.includes(key)) problems.push(`${key}: unknown key (known: ${known.join(', ')})`)

  const listen = hostPort(json['listen'], 'listen', problems)
  const upstream = json['upstream']
  if (typeof upstream !== 'string' || !URL_PATTERN.test(upstream.replace(/\/+$/, ''))) {
    problems.push(`upstream: should be the backend's http(s) URL without a path, e.g. "http://127.0.0.1:8776", instead got ${show(upstream)}`)
  }
  const metrics = json['metrics'] === undefined ? undefined : hostPort(json['metrics'], 'metrics', problems)
  const logLevel = json['logLevel'] ?? 'info'
  if (typeof logLevel !== 'string' || !LEVELS.includes(logLevel)) {
    problems.push(`logLevel: should be one of ${LEVELS.join(', ')}, instead got ${show(logLevel)}`)
  }
  const drainMs = json['drainMs'] ?? 10_000
  if (typeof drainMs !== 'number' || !Number.isInteger(drainMs) || drainMs < 0) {
    problems.push(`drainMs: should be a non-negative integer, instead got ${show(drainMs)}`)
  }

  const identity = identityConfig(json['identity'], base, env, problems)
  const policies = policiesConfig(json['policies'], base, problems)
  const authz = authzConfig(json['authz'], problems)
  if (problems.length === 0) {
    // The same checks the plugin makes at registration, so a bad policy or option fails here, listed.
    try {
      createAuthorizer({ ...authz, policies })
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error
      for (const problem of error.problems) {
        problems.push(`${problem.at.startsWith('policies') ? '' : 'authz.'}${problem.at}: ${problem.message}`)
      }
    }
  }
  // The typeof tests repeat checks made above, for the compiler: a value failing one has already added a problem.
  if (problems.length > 0 || identity === undefined || listen === undefined || typeof upstream !== 'string' ||
    typeof logLevel !== 'string' || typeof drainMs !== 'number') throw new GatewayConfigError(file, problems)
  return {
    listen,
    upstream: upstream.replace(/\/+$/, ''),
    identity,
    policies,
    authz,
    metrics,
    logLevel,
    drainMs
  }
}

function hostPort (value: unknown, at: string, problems: string[]): { host: string, port: number } | undefined {
  if (!isObject(value)) {
    problems.push(`${at}: should be { "host": "127.0.0.1", "port": 8080 }, instead got ${show(value)}`)
    return undefined
  }
  const host = value['host'] ?? '127.0.0.1'
  const port = value['port']
  const before = problems.length
  if (typeof host !== 'string' || host === '') problems.push(`${at}.host: should be a host name or address, instead got ${show(host)}`)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push(`${at}.port: should be a port number (0-65535), instead got ${show(port)}`)
  }
  return problems.length === before && typeof host === 'string' && typeof port === 'number' ? { host, port } : undefined
}

function secretFrom (value: Json, name: string, at: string, env: NodeJS.ProcessEnv, problems: string[],
  required: boolean): string | undefined {
  const direct = value[name]
  const fromEnv = value[`${name}Env`]
  if (direct !== undefined && fromEnv !== undefined) {
    problems.push(`${at}: give ${name} or ${name}Env, not both`)
    return undefined
  }
  if (fromEnv !== undefined) {
    if (typeof fromEnv !== 'string' || fromEnv === '') {
      problems.push(`${at}.${name}Env: should name an environment variable`)
      return undefined
    }
    const secret = env[fromEnv]
    if (secret === undefined || secret === '') problems.push(`${at}.${name}Env: the environment variable ${fromEnv} is not set`)
    return secret
  }
  if (direct === undefined) {
    if (required) problems.push(`${at}: ${name} or ${name}Env is required`)
    return undefined
  }
  if (typeof direct !== 'string' || direct === '') problems.push(`${at}.${name}: should be a non-empty string`)
  return typeof direct === 'string' ? direct : undefined
}

function identityConfig (value: unknown, base: string, env: NodeJS.ProcessEnv, problems: string[]): GatewayConfig['identity'] | undefined {
  if (!isObject(value) || Object.keys(value).length !== 1 || !(Object.hasOwn(value, 'keystone') || Object.hasOwn(value, 'jwt'))) {
    problems.push('identity: should be { "keystone": { ... } } or { "jwt": { ... } }')
    return undefined
  }
  if (Object.hasOwn(value, 'keystone')) {
    const k = value['keystone']
    if (!isObject(k)) {
      problems.push('identity.keystone: should be an object')
      return undefined
    }
    const at = 'identity.keystone'
    const known = ['url', 'publicUrl', 'username', 'password', 'passwordEnv', 'userDomainName', 'projectName', 'projectDomainName',
      'applicationCredentialId', 'applicationCredentialSecret', 'applicationCredentialSecretEnv', 'cacheSeconds', 'negativeCacheSeconds',
      'timeoutMs', 'maxEntries', 'defaultRoles', 'forwardIdentityHeaders']
    for (const key of Object.keys(k)) if (!known.includes(key)) problems.push(`${at}.${key}: unknown key`)
    // As read; keystoneOptionProblems says what is wrong with them.
    const credentials = k['applicationCredentialId'] !== undefined
      ? {
          applicationCredentialId: k['applicationCredentialId'],
          applicationCredentialSecret: secretFrom(k, 'applicationCredentialSecret', at, env, problems, true) ?? ''
        }
      : {
          username: k['username'],
          password: secretFrom(k, 'password', at, env, problems, true) ?? 'unset',
          projectName: k['projectName'],
          ...(k['userDomainName'] === undefined ? {} : { userDomainName: k['userDomainName'] }),
          ...(k['projectDomainName'] === undefined ? {} : { projectDomainName: k['projectDomainName'] })
        }
    const options = {
      url: k['url'],
      ...(k['publicUrl'] === undefined ? {} : { publicUrl: k['publicUrl'] }),
      credentials,
      ...Object.fromEntries(['cacheSeconds', 'negativeCacheSeconds', 'timeoutMs', 'maxEntries']
        .filter((n) => k[n] !== undefined).map((n) => [n, k[n]]))
    }
    problems.push(...keystoneOptionProblems(options, `${at}.`))
    for (const flag of ['defaultRoles', 'forwardIdentityHeaders']) {
      if (k[flag] !== undefined && typeof k[flag] !== 'boolean') problems.push(`${at}.${flag}: should be true or false`)
    }
    // Options with a problem (listed above) leave no identity: the configuration is refused.
    if (!isKeystoneFileOptions(options)) return undefined
    return {
      keystone: { options, defaultRoles: k['defaultRoles'] !== false, forwardIdentityHeaders: k['forwardIdentityHeaders'] === true }
    }
  }
  const j = value['jwt']
  if (!isObject(j)) {
    problems.push('identity.jwt: should be an object')
    return undefined
  }
  const at = 'identity.jwt'
  for (const key of Object.keys(j)) {
    if (!['publicKey', 'publicKeyFile', 'secret', 'secretEnv', 'algorithms', 'issuer', 'audience'].includes(key)) {
      problems.push(`${at}.${key}: unknown key`)
    }
  }
  let key: string | undefined
  let kind: 'public' | 'secret' = 'public'
  const given = ['publicKey', 'publicKeyFile', 'secret', 'secretEnv'].filter((n) => j[n] !== undefined)
  if (given.length !== 1) {
    problems.push(`${at}: give exactly one of publicKey, publicKeyFile, secret, secretEnv`)
  } else if (given[0] === 'publicKeyFile') {
    try {
      key = readFileSync(resolve(base, String(j['publicKeyFile'])), 'utf8')
    } catch (error) {
      problems.push(`${at}.publicKeyFile: cannot read ${show(j['publicKeyFile'])}: ${errorCode(error) ?? String(error)}`)
    }
  } else if (given[0] === 'publicKey') {
    key = typeof j['publicKey'] === 'string' ? j['publicKey'] : undefined
    if (key === undefined) problems.push(`${at}.publicKey: should be a PEM string`)
  } else {
    kind = 'secret'
    key = secretFrom(j, 'secret', at, env, problems, true)
  }
  const requested = j['algorithms'] ?? (kind === 'secret' ? ['HS256'] : ['RS256'])
  const algorithms = Array.isArray(requested) && requested.length > 0 && requested.every(isJwtAlgorithm) ? requested : undefined
  if (algorithms === undefined) {
    problems.push(`${at}.algorithms: should be a non-empty list from ${JWT_ALGORITHMS.join(', ')}`)
  } else if (algorithms.some((a) => a.startsWith('HS') !== (kind === 'secret'))) {
    problems.push(`${at}.algorithms: HS* algorithms go with a secret, the others with a public key`)
  }
  const optionalString = (name: string): string | undefined => {
    const value = j[name]
    if (value !== undefined && typeof value !== 'string') problems.push(`${at}.${name}: should be a string`)
    return typeof value === 'string' ? value : undefined
  }
  const issuer = optionalString('issuer')
  const audience = optionalString('audience')
  // Invalid algorithms (a problem listed above) refuse the configuration; `[]` is never used.
  return { jwt: { key: key ?? '', kind, algorithms: algorithms ?? [], issuer, audience } }
}

type Policies = Record<string, IamPolicy | readonly IamPolicy[]>

function policiesConfig (value: unknown, base: string, problems: string[]): Policies {
  const documents: Record<string, unknown> = {}
  if (value === undefined) return {}
  if (!isObject(value)) {
    problems.push('policies: should be an object mapping role names to policy document(s) or { "file": PATH }')
    return {}
  }
  for (const [role, entry] of Object.entries(value)) {
    if (isObject(entry) && Object.keys(entry).length === 1 && typeof entry['file'] === 'string') {
      try {
        documents[role] = JSON.parse(readFileSync(resolve(base, entry['file']), 'utf8'))
      } catch (error) {
        const why = errorCode(error) ?? errorMessage(error)
        problems.push(`policies[${show(role)}].file: cannot read ${show(entry['file'])} as JSON: ${why}`)
      }
    } else {
      documents[role] = entry
    }
  }
  // Unchecked documents: parseGatewayConfig hands them to createAuthorizer, which lists every problem, before any use.
  return documents as Policies
}

function authzConfig (value: unknown, problems: string[]): AuthzConfig {
  if (value === undefined) return {}
  if (!isObject(value)) {
    problems.push('authz: should be an object of plugin options')
    return {}
  }
  const known = ['mode', 'unmatched', 'crossProjectQuery', 'prefix', 'projectIdPattern', 'bodyLimit']
  for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`authz.${key}: unknown key (known: ${known.join(', ')})`)
  const config: Record<string, unknown> = {}
  for (const key of ['mode', 'unmatched', 'crossProjectQuery', 'prefix', 'bodyLimit']) {
    if (value[key] !== undefined) config[key] = value[key]
  }
  const pattern = value['projectIdPattern']
  if (pattern !== undefined) {
    if (typeof pattern !== 'string') {
      problems.push('authz.projectIdPattern: should be a regular expression source string, e.g. "^[0-9a-f]{32}$"')
    } else {
      try {
        config['projectIdPattern'] = new RegExp(pattern)
      } catch (error) {
        problems.push(`authz.projectIdPattern: ${errorMessage(error)}`)
      }
    }
  }
  if (config['mode'] !== undefined && config['mode'] !== 'enforce' && config['mode'] !== 'audit') {
    problems.push(`authz.mode: should be "enforce" or "audit", instead got ${show(config['mode'])}`)
  }
  const bodyLimit = config['bodyLimit']
  if (bodyLimit !== undefined && (typeof bodyLimit !== 'number' || !Number.isInteger(bodyLimit) || bodyLimit <= 0)) {
    problems.push('authz.bodyLimit: should be a positive integer')
  }
  // Only mode and bodyLimit are checked here: parseGatewayConfig hands the rest to createAuthorizer, which checks them.
  return config as AuthzConfig
}
