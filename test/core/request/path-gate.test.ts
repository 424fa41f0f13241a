// The canonical-path gate (README "How a request is judged"), one case per spelling of each
// authorization-bypass class it refuses (docs/threat-model.md). Every case carries a full grant unless it
// says otherwise, so a denial here is the gate's (or the matcher's) doing, never a missing permission.
import t from 'tap'
import fc from 'fast-check'
import { createAuthorizer, type Authorizer, type AuthorizerOptions } from '../../../src/core/authorizer.js'
import type { AllowReason, DenyReason } from '../../../src/core/decision/decision.js'
import { compilePathGate, type PathProblem } from '../../../src/core/request/path-gate.js'

const P = '0123456789abcdef0123456789abcdef'
const OTHER_PROJECT = 'fedcba9876543210fedcba9876543210'
const FULL = Object.freeze({ project_id: P, actions: ['*'] })
const LIST_ONLY = Object.freeze({ project_id: P, actions: ['evs:snapshots:list'] })
const GET_ONLY = Object.freeze({ project_id: P, actions: ['evs:snapshots:get'] })

type Expectation =
  | { readonly kind: 'outside' }
  | {
    readonly kind: 'allow'
    readonly reason: AllowReason
    readonly template: string | undefined
    readonly params?: Readonly<Record<string, string>>
    readonly required?: readonly string[]
    readonly path?: string
  }
  | {
    readonly kind: 'deny'
    readonly reason: DenyReason
    readonly status: 400 | 401 | 403
    readonly detail: string | undefined
    readonly missing?: readonly string[]
  }

interface GateCase {
  /** The bypass class of docs/threat-model.md (or a short tag for controls). */
  readonly klass: string
  readonly method: string
  readonly url: string
  readonly expect: Expectation
  readonly headers?: Readonly<Record<string, string>>
  /** Default: FULL. `null` means no token. */
  readonly claims?: object | null
  readonly options?: AuthorizerOptions
  /** Why the case matters, when the spelling alone does not say. */
  readonly note?: string
}

const outside: Expectation = { kind: 'outside' }
const bad = (problem: PathProblem, param?: string): Expectation =>
  ({ kind: 'deny', reason: 'malformed-path', status: 400, detail: param === undefined ? problem : `${problem}: {${param}}` })
const forbid = (reason: DenyReason, detail: string | undefined, missing?: readonly string[]): Expectation =>
  missing === undefined ? { kind: 'deny', reason, status: 403, detail } : { kind: 'deny', reason, status: 403, detail, missing }
const overridden = (header: string): Expectation => ({ kind: 'deny', reason: 'method-override', status: 400, detail: `${header} header` })
const granted = (template: string, params: Readonly<Record<string, string>>,
  extra: { required?: readonly string[], path?: string } = {}): Expectation =>
  ({ kind: 'allow', reason: 'granted', template, params, ...extra })
const passed: Expectation = { kind: 'allow', reason: 'unmatched-pass', template: undefined }

const PREFIX: AuthorizerOptions = { prefix: '/evs' }
const PASS: AuthorizerOptions = { unmatched: 'pass' }
const pid = { project_id: P }

function c (klass: string, method: string, url: string, expect: Expectation,
  extra: Partial<Pick<GateCase, 'headers' | 'claims' | 'options' | 'note'>> = {}): GateCase {
  return { klass, method, url, expect, ...extra }
}

const cases: readonly GateCase[] = [
  // Controls: canonical spellings are matched and allowed, so the rejections below are not blanket.
  c('control', 'GET', `/v2/${P}/snapshots`, granted('/v2/{project_id}/snapshots', pid)),
  c('control', 'GET', `/v2/${P}/snapshots/detail`, granted('/v2/{project_id}/snapshots/detail', pid)),
  c('control', 'GET', `/v2/${P}/snapshots/abc-123_DEF`,
    granted('/v2/{project_id}/snapshots/{snapshot_id}', { ...pid, snapshot_id: 'abc-123_DEF' })),
  c('control', 'DELETE', `/v2/${P}/snapshots/s1`,
    granted('/v2/{project_id}/snapshots/{snapshot_id}', { ...pid, snapshot_id: 's1' },
      { required: ['evs:snapshots:delete', 'evs:snapshots:get', 'evs:volumes:get'] })),
  c('control', 'POST', `/v2/${P}/cloudsnapshots/s1/rollback`,
    granted('/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback', { ...pid, snapshot_id: 's1' })),
  c('control', 'POST', `/v2/${P}/os-vendor-snapshots/s1/rollback`,
    granted('/v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback', { ...pid, snapshot_id: 's1' })),
  c('control', 'GET', `/v3/${P}/snapshots/s1/metadata/k`,
    granted('/v3/{project_id}/snapshots/{snapshot_id}/metadata/{key}', { ...pid, snapshot_id: 's1', key: 'k' })),
  c('control', 'GET', `/v2/${P}/snapshots/s1/metadata/a%20b`,
    granted('/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', { ...pid, snapshot_id: 's1', key: 'a b' }),
    { note: 'an escape of a reserved character is canonical and decoded into the parameter' }),
  c('control', 'GET', `/v2/${P}/snapshots/s1/metadata/a%3Ab`,
    granted('/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', { ...pid, snapshot_id: 's1', key: 'a:b' })),
  c('control', 'GET', `/v2/${P}/snapshots`, { kind: 'deny', reason: 'no-credentials', status: 401, detail: undefined }, { claims: null }),
  c('control', 'GET', `/v2/${P}/snapshots`, forbid('project-mismatch', 'token project differs'),
    { claims: { project_id: OTHER_PROJECT, actions: ['*'] } }),

  // 1. Encoded slash.
  c('1 encoded slash', 'GET', `/v2/${P}/snapshots/a%2Fb`, bad('encoded-slash')),
  c('1 encoded slash', 'GET', `/v2/${P}/snapshots/a%2fb`, bad('encoded-slash')),
  c('1 encoded slash', 'GET', `/v2/${P}/snapshots%2Fdetail`, bad('encoded-slash')),
  c('1 encoded slash', 'GET', `/v2/${P}/snapshots/x%2Fmetadata`, bad('encoded-slash')),
  c('1 encoded slash', 'GET', `/v2/${P}/snapshots/x/..%2Fy`, bad('encoded-slash')),
  c('1 encoded slash', 'GET', `/v2%2F${P}/snapshots`, bad('encoded-slash')),

  // 2. Dot segments, raw and encoded.
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/./detail`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/v2/${P}/./snapshots/x`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/../snapshots`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/x/..`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/x/.`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/x/../v2/${P}/snapshots`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/./v2/${P}/snapshots`, bad('dot-segment')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%2e`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%2e%2e`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%2E%2E`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/.%2e`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%2e./detail`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/x/%2e%2e/v2/${P}/snapshots`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/%2e/v2/${P}/snapshots`, bad('encoded-unreserved')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%252e`, bad('encoded-percent'),
    { note: 'double-encoded: a decoding backend then sees %2e' }),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%252e%252e`, bad('encoded-percent')),
  c('2 dot segment', 'GET', `/x/%252e%252e/v2/${P}/snapshots`, bad('encoded-percent')),
  c('2 dot segment', 'GET', `/v2/${P}/snapshots/%25`, bad('encoded-percent')),

  // 3. Double and empty slashes.
  c('3 empty segment', 'GET', `//v2/${P}/snapshots`, bad('empty-segment')),
  c('3 empty segment', 'GET', `/v2//${P}/snapshots`, bad('empty-segment')),
  c('3 empty segment', 'GET', `/v2/${P}//snapshots`, bad('empty-segment')),
  c('3 empty segment', 'GET', `/v2/${P}/snapshots//detail`, bad('empty-segment')),
  c('3 empty segment', 'GET', `///v2/${P}/snapshots/x`, bad('empty-segment')),

  // 4. Trailing slash.
  c('4 trailing slash', 'GET', `/v2/${P}/snapshots/`, bad('empty-segment')),
  c('4 trailing slash', 'GET', `/v2/${P}/snapshots/detail/`, bad('empty-segment')),
  c('4 trailing slash', 'DELETE', `/v2/${P}/snapshots/s1/`, bad('empty-segment')),
  c('4 trailing slash', 'GET', '/v2/', bad('empty-segment')),

  // 5. Case: one case-sensitive matcher, no lower-case fallback; a parameter spelled like a static sibling is refused.
  c('5 case', 'GET', `/V2/${P}/snapshots`, forbid('route-not-found', undefined)),
  c('5 case', 'GET', `/V3/${P}/snapshots/s1`, forbid('route-not-found', undefined)),
  c('5 case', 'GET', `/v2/${P}/SNAPSHOTS`, forbid('route-not-found', undefined)),
  c('5 case', 'GET', `/v2/${P}/Snapshots/detail`, forbid('route-not-found', undefined)),
  c('5 case', 'GET', `/v2/${P}/CLOUDSNAPSHOTS/detail`, forbid('route-not-found', undefined)),
  c('5 case', 'GET', `/v2/${P}/snapshots/s1/METADATA`, forbid('route-not-found', undefined)),
  c('5 case', 'GET', `/v2/${P.toUpperCase()}/snapshots`, forbid('route-not-found', '{project_id} rejected')),
  c('5 case', 'GET', `/v2/${P}/snapshots/DETAIL`, bad('ambiguous-segment', 'snapshot_id')),
  c('5 case', 'GET', `/v2/${P}/snapshots/Detail`, bad('ambiguous-segment', 'snapshot_id')),
  c('5 case', 'DELETE', `/v2/${P}/snapshots/dEtAiL`, bad('ambiguous-segment', 'snapshot_id')),
  c('5 case', 'GET', `/v2/${P}/cloudsnapshots/DETAIL`, bad('ambiguous-segment', 'snapshot_id')),

  // 6. Semicolon path parameters.
  c('6 semicolon', 'GET', `/v2/${P}/snapshots;x=1`, bad('semicolon')),
  c('6 semicolon', 'GET', `/v2/${P}/snapshots/detail;jsessionid=1`, bad('semicolon')),
  c('6 semicolon', 'GET', `/v2;x/${P}/snapshots`, bad('semicolon')),
  c('6 semicolon', 'GET', `/;x/v2/${P}/snapshots`, bad('semicolon')),
  c('6 semicolon', 'GET', `/v2/${P}/snapshots/x%3Bmetadata`, bad('semicolon')),
  c('6 semicolon', 'GET', `/v2/${P}/snapshots/x%3bmetadata`, bad('semicolon')),

  // 7. Encoding aliases of unreserved characters.
  c('7 encoded letter', 'GET', `/v2/${P}/snapshots/%64etail`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v2/${P}/snapshots/deta%69l`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', '/v2/x/sn%61pshots', bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v2/${P}/sn%61pshots`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/%762/${P}/snapshots`, bad('encoded-unreserved'),
    { note: '%76 is v: the version segment is recognized after decoding' }),
  c('7 encoded letter', 'GET', `/%56%32/${P}/snapshots`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v%32/${P}/snapshots`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v2/${P}/snapshots/s1/%6detadata`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v2/${P}/snapshots/abc%2D1`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v2/${P}/snapshots/abc%7E`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/v2/${P.slice(0, 31)}%66/snapshots`, bad('encoded-unreserved')),
  c('7 encoded letter', 'GET', `/%25762/${P}/snapshots`, bad('encoded-percent'), { note: 'double-encoded v' }),

  // 8. Overlong and invalid UTF-8, truncated escapes.
  c('8 overlong utf-8', 'GET', `/v2/${P}/snapshots/%c0%ae`, bad('invalid-utf8')),
  c('8 overlong utf-8', 'GET', `/v2/${P}/snapshots/%c0%ae%c0%ae`, bad('invalid-utf8')),
  c('8 overlong utf-8', 'GET', `/v2/${P}/snapshots/x%c0%afmetadata`, bad('invalid-utf8')),
  c('8 overlong utf-8', 'GET', `/v2/${P}/snapshots/%C0%AE%C0%AE`, bad('invalid-utf8')),
  c('8 overlong utf-8', 'GET', `/v2/${P}/snapshots/%e0%80%ae`, bad('invalid-utf8')),
  c('8 overlong utf-8', 'GET', `/v2/${P}/snapshots/%f0%80%80%ae`, bad('invalid-utf8')),
  c('8 overlong utf-8', 'GET', `/x/%c0%ae%c0%ae/v2/${P}/snapshots`, bad('invalid-utf8'), { note: 'a lax decoder reads /x/../v2/...' }),
  c('8 overlong utf-8', 'GET', `/%c1%b62/${P}/snapshots`, bad('invalid-utf8'), { note: '%c1%b6 is an overlong v' }),
  c('8 overlong utf-8', 'GET', `/x/%e0%80%ae%e0%80%ae/v2/${P}/snapshots`, bad('invalid-utf8'),
    { note: 'three-byte overlong dots: a lax decoder reads /x/../v2/..., exactly like the two-byte form above' }),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/abc%`, bad('bad-percent-encoding')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/abc%2`, bad('bad-percent-encoding')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%zz`, bad('bad-percent-encoding')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%%32%65`, bad('bad-percent-encoding')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%c3`, bad('invalid-utf8')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%c3%28`, bad('invalid-utf8')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%e2%82%`, bad('bad-percent-encoding')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%ed%a0%80`, bad('invalid-utf8'), { note: 'UTF-8-encoded surrogate' }),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%ed%b0%80`, bad('invalid-utf8')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%f4%90%80%80`, bad('invalid-utf8'), { note: 'above U+10FFFF' }),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%ff`, bad('invalid-utf8')),
  c('8 invalid utf-8', 'GET', `/v2/${P}/snapshots/%80`, bad('invalid-utf8')),
  c('8 valid utf-8', 'GET', `/v2/${P}/snapshots/%c3%a9`, forbid('route-not-found', '{snapshot_id} rejected'),
    { note: 'well-formed, but not an id: denied by the id constraint, not by the gate' }),

  // 9. NUL and control characters, raw and encoded.
  c('9 control', 'GET', `/v2/${P}/snapshots/x%00`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots%00/detail`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x%0a`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x%0D`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x%1f`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x%7F`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x%c2%80`, bad('control-character'), { note: 'C1 control U+0080' }),
  c('9 control', 'GET', `/v2/${P}/snapshots/x%c2%9f`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x\u0000y`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x\u0001y`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x\ty`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x\ny`, bad('control-character')),
  c('9 control', 'GET', `/v2/${P}/snapshots/x\u007fy`, bad('control-character')),
  c('9 raw character', 'GET', `/v2/${P}/snapshots/x y`, bad('invalid-character')),
  c('9 raw character', 'GET', `/v2/${P}/snapshots/x\u00e9`, bad('invalid-character')),
  c('9 raw character', 'GET', `/v2/${P}/snapshots/x|y`, bad('invalid-character')),
  c('9 raw character', 'GET', `/v2/${P}/snapshots/x{y}`, bad('invalid-character')),

  // 10. Backslash as separator, raw and encoded.
  c('10 backslash', 'GET', `/v2/${P}/snapshots/x\\metadata`, bad('backslash')),
  c('10 backslash', 'GET', `/v2/${P}/snapshots/x%5Cmetadata`, bad('backslash')),
  c('10 backslash', 'GET', `/v2/${P}/snapshots/x%5cmetadata`, bad('backslash')),
  c('10 backslash', 'GET', `/v2\\${P}\\snapshots`, bad('backslash')),
  c('10 backslash', 'GET', `/\\v2/${P}/snapshots`, bad('backslash')),
  c('10 backslash', 'GET', `/health/..%5cv2/${P}/snapshots`, bad('backslash')),

  // 11. Fragment in the request target.
  c('11 fragment', 'GET', `/v2/${P}/snapshots/x#frag`, bad('fragment')),
  c('11 fragment', 'GET', `/v2/${P}/snapshots#/../detail`, bad('fragment')),
  c('11 fragment', 'GET', `/v2/${P}/snapshots?a=1#frag`, bad('fragment')),
  c('11 fragment', 'GET', `/v2/${P}/snapshots/x%23frag`, forbid('route-not-found', '{snapshot_id} rejected')),
  c('11 fragment', 'GET', `/x#/../v2/${P}/snapshots`, bad('fragment'),
    { note: 'a proxy that forwards #frag re-encoded (Traefik CVE-2023-47106) sends /x%23/../v2/..., which resolves to /v2/...' }),

  // 12. Absolute-form and other non-origin-form targets.
  c('12 absolute-form', 'GET', `http://evil/v2/${P}/snapshots`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', `https://evil/v2/${P}/snapshots/s1`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', `HTTP://EVIL/V2/${P}/snapshots`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', `http://evil//v2/${P}/snapshots`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', `http://evil/x/../v2/${P}/snapshots`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', `http://evil/%762/${P}/snapshots`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', `http:\\\\evil\\v2\\${P}\\snapshots`, bad('not-origin-form'),
    { note: 'WHATWG URL (used by reply-from) reads backslashes in http: URLs as slashes: host evil, path /v2/...' }),
  c('12 rootless', 'GET', `v2/${P}/snapshots`, bad('not-origin-form')),
  c('12 absolute-form', 'GET', 'http://evil/health', outside),
  c('12 asterisk-form', 'OPTIONS', '*', outside),

  // 13. Method override headers are refused, whatever they say.
  c('13 method override', 'POST', `/v2/${P}/snapshots`, overridden('x-http-method-override'),
    { headers: { 'x-http-method-override': 'DELETE' } }),
  c('13 method override', 'POST', `/v2/${P}/snapshots`, overridden('x-http-method'), { headers: { 'x-http-method': 'DELETE' } }),
  c('13 method override', 'POST', `/v2/${P}/snapshots`, overridden('x-method-override'), { headers: { 'x-method-override': 'DELETE' } }),
  c('13 method override', 'GET', `/v2/${P}/snapshots/s1`, overridden('x-http-method-override'),
    { headers: { 'x-http-method-override': 'GET' } }),
  c('13 method override', 'GET', `/v2/${P}/snapshots/s1`, overridden('x-http-method-override'),
    { headers: { 'x-http-method-override': '' } }),
  c('13 method override', 'POST', `/v2/${P}/snapshots`, overridden('x-http-method-override'), {
    headers: { 'X-HTTP-Method-Override': 'DELETE' },
    note: 'header names are case-insensitive (RFC 9110); RequestTarget.headers does not promise lower case'
  }),

  // 14. HEAD is authorized as GET with exactly the GET row's actions; other methods without a row are denied.
  c('14 HEAD as GET', 'HEAD', `/v2/${P}/snapshots`, granted('/v2/{project_id}/snapshots', pid, { required: ['evs:snapshots:list'] }),
    { claims: LIST_ONLY }),
  c('14 HEAD as GET', 'HEAD', `/v2/${P}/snapshots/s1`,
    granted('/v2/{project_id}/snapshots/{snapshot_id}', { ...pid, snapshot_id: 's1' }, { required: ['evs:snapshots:get'] }),
    { claims: GET_ONLY }),
  c('14 HEAD as GET', 'HEAD', `/v2/${P}/snapshots`, forbid('missing-action', undefined, ['evs:snapshots:list']), { claims: GET_ONLY }),
  c('14 HEAD as GET', 'HEAD', `/v2/${P}/snapshots/s1`, forbid('missing-action', undefined, ['evs:snapshots:get']), { claims: LIST_ONLY }),
  c('14 HEAD as GET', 'HEAD', `/v2/${P}/cloudsnapshots`, forbid('method-not-allowed', 'allowed: POST')),
  c('14 HEAD as GET', 'HEAD', `/v2/${P}/cloudsnapshots/s1/rollback`, forbid('method-not-allowed', 'allowed: POST')),
  c('14 other method', 'OPTIONS', `/v2/${P}/snapshots`, forbid('method-not-allowed', 'allowed: POST, GET')),
  c('14 other method', 'PATCH', `/v2/${P}/snapshots/s1`, forbid('method-not-allowed', 'allowed: PUT, GET, DELETE')),
  c('14 other method', 'TRACE', `/v2/${P}/snapshots/s1`, forbid('method-not-allowed', 'allowed: PUT, GET, DELETE')),
  c('14 other method', 'get', `/v2/${P}/snapshots`, forbid('method-not-allowed', 'allowed: POST, GET')),
  c('14 other method', 'DELETE', `/v2/${P}/snapshots/detail`, forbid('method-not-allowed', 'allowed: GET')),

  // 15. The query string is never part of the match.
  c('15 query', 'GET', `/v2/${P}/snapshots?x=/../detail`, granted('/v2/{project_id}/snapshots', pid, { path: `/v2/${P}/snapshots` })),
  c('15 query', 'GET', `/v2/${P}/snapshots?/s1/metadata`, granted('/v2/{project_id}/snapshots', pid, { path: `/v2/${P}/snapshots` })),
  c('15 query', 'GET', `/v2/${P}/snapshots/s1?y=%zz%2F%00`,
    granted('/v2/{project_id}/snapshots/{snapshot_id}', { ...pid, snapshot_id: 's1' }, { path: `/v2/${P}/snapshots/s1` })),
  c('15 query', 'GET', `/v2/${P}/snapshots/detail?`,
    granted('/v2/{project_id}/snapshots/detail', pid, { path: `/v2/${P}/snapshots/detail` })),
  c('15 query', 'GET', `/v2/${P}/snapshots/?x=1`, bad('empty-segment')),

  // 16. Matcher mistakes: format suffixes are never ids, unmatched guarded paths fail closed.
  c('16 format suffix', 'GET', `/v2/${P}/snapshots/detail.json`, forbid('route-not-found', '{snapshot_id} rejected')),
  c('16 format suffix', 'DELETE', `/v2/${P}/snapshots/detail.json`, forbid('route-not-found', '{snapshot_id} rejected')),
  c('16 format suffix', 'GET', `/v2/${P}/snapshots/s1.json`, forbid('route-not-found', '{snapshot_id} rejected')),
  c('16 format suffix', 'GET', `/v2/${P}/snapshots.json`, forbid('route-not-found', undefined)),
  c('16 unmatched', 'GET', `/v2/${P}/volumes`, forbid('route-not-found', undefined)),
  c('16 unmatched', 'GET', `/v2/${P}/snapshotsX`, forbid('route-not-found', undefined)),
  c('16 unmatched', 'GET', `/v2/${P}/snapshots/s1/metadata/k/extra`, forbid('route-not-found', undefined)),
  c('16 unmatched', 'GET', '/v3/snapshots', forbid('route-not-found', '{project_id} rejected'),
    { note: 'project-less microversion 3.67 path' }),
  c('16 unmatched', 'GET', '/v2', forbid('route-not-found', undefined)),
  c('16 unmatched', 'GET', `/v3/${P}/cloudsnapshots/detail`, forbid('route-not-found', undefined),
    { note: 'Huawei has no v3 cloudsnapshots' }),
  c('16 unmatched', 'GET', `/v2/${P}/snapshots/${'a'.repeat(256)}`, forbid('route-not-found', '{snapshot_id} rejected')),

  // unmatched: 'pass' lets other guarded paths through, never a snapshot-like one.
  c('16 unmatched pass', 'GET', `/v2/${P}/volumes`, passed, { options: PASS }),
  c('16 unmatched pass', 'POST', `/v2/${P}/volumes/v1/action`, passed, { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snapshots`, granted('/v2/{project_id}/snapshots', pid), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snapshots`, { kind: 'deny', reason: 'no-credentials', status: 401, detail: undefined },
    { options: PASS, claims: null }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snapshotsX`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/SNAPSHOTS`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/Snapshots/detail`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/CloudSnapshots/s1`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/os-vendor-snapshots/x/y`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/os-vendor-snapshots/x`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snapshots.json`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snapshots/detail.json`, forbid('route-not-found', '{snapshot_id} rejected'), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snapshots/s1/extra/x/y`, forbid('route-not-found', undefined), { options: PASS }),
  c('16 unmatched pass', 'GET', '/v3/snapshots', forbid('route-not-found', '{project_id} rejected'), { options: PASS }),
  c('16 unmatched pass', 'GET', '/v3/snapshots/detail', forbid('route-not-found', '{project_id} rejected'), { options: PASS }),
  c('16 unmatched pass', 'PATCH', `/v2/${P}/snapshots/s1`, forbid('method-not-allowed', 'allowed: PUT, GET, DELETE'), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/snap%73hots`, bad('encoded-unreserved'), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/volumes/../snapshots`, bad('dot-segment'), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/volumes%2F..%2Fsnapshots`, bad('encoded-slash'), { options: PASS }),
  c('16 unmatched pass', 'GET', `/v2/${P}/%C5%BFnapshots`, forbid('route-not-found', undefined), {
    options: PASS,
    note: 'U+017F LATIN SMALL LETTER LONG S case-folds to s (CaseFolding.txt 017F; C; 0073), ' +
      'so a case-insensitive Java/.NET router reads "snapshots"'
  }),

  // 17. Prefix: {prefix}/v2 is guarded and matched; other spellings of the prefix are refused.
  c('17 prefix', 'GET', `/evs/v2/${P}/snapshots`, granted('/v2/{project_id}/snapshots', pid), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs/v2/${P}/snapshots/detail?x=1`,
    granted('/v2/{project_id}/snapshots/detail', pid, { path: `/evs/v2/${P}/snapshots/detail` }), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs/v2/${P}/snapshots/%2e%2e`, bad('encoded-unreserved'), { options: PREFIX }),
  c('17 prefix', 'GET', `/EVS/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/Evs/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/%65vs/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs/%2e/v2/${P}/snapshots`, bad('encoded-unreserved'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs/./v2/${P}/snapshots`, bad('dot-segment'), { options: PREFIX }),
  c('17 prefix', 'GET', `/x/../evs/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/x/%2e%2e/evs/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `//evs/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs//v2/${P}/snapshots`, bad('empty-segment'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs;x/v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs\\v2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs%2Fv2/${P}/snapshots`, bad('prefix-spelling'), { options: PREFIX }),
  c('17 prefix', 'GET', `/evs/V2/${P}/snapshots`, forbid('route-not-found', undefined), { options: PREFIX }),
  c('17 prefix', 'GET', `http://evil/evs/v2/${P}/snapshots`, bad('not-origin-form'), { options: PREFIX }),
  c('17 prefix', 'GET', `/v2/${P}/snapshots`, outside, {
    options: PREFIX,
    note: 'without the prefix the path is not the mounted API (the guarded space is {prefix}/v2/, README "Options"); ' +
      'the plugin must not fail requests meant for other routes'
  }),
  c('17 prefix', 'GET', '/evs/health', outside, { options: PREFIX }),
  c('17 prefix', 'GET', `/evsx/v2/${P}/snapshots`, outside, { options: PREFIX }),
  c('17 prefix', 'GET', `/evs/../v2/${P}/snapshots`, bad('dot-segment'), {
    options: PREFIX,
    note: 'under a prefix-stripping proxy the upstream receives /../v2/..., which resolves to its /v2/... ' +
      '(Traefik StripPrefix CVE-2026-48020; fastify-http-proxy #132)'
  }),
  c('17 prefix', 'GET', `/evs/%2e%2e/v2/${P}/snapshots`, bad('encoded-unreserved'), {
    options: PREFIX,
    note: 'the encoded form of the previous case: WHATWG URL resolves %2e%2e as ..'
  }),
  c('17 prefix', 'GET', `/evs/x/../../v2/${P}/snapshots/s1`, bad('dot-segment'), { options: PREFIX }),

  // Paths outside the API are not ours to judge: authorize() lets them through as not-guarded.
  c('outside', 'GET', '/health', outside),
  c('outside', 'GET', '/v1/x', outside),
  c('outside', 'GET', '/static/a%20b.png', outside),
  c('outside', 'GET', '/static/%zz', outside),
  c('outside', 'GET', '/v22/x', outside),
  c('outside', 'GET', '/v2x/snapshots', outside),
  c('outside', 'GET', '/v4/snapshots', outside),
  c('outside', 'GET', '/api?next=/v2/x/snapshots', outside),
  c('outside', 'GET', '/', outside)
]

/** Case names show `{P}` for the project id and escape control characters. */
function caseName (k: GateCase): string {
  const url = JSON.stringify(k.url).slice(1, -1).replaceAll(P, '{P}').replaceAll(P.toUpperCase(), '{P_UPPER}')
  const e = k.expect
  const outcome = e.kind === 'outside'
    ? 'outside (undefined)'
    : e.kind === 'allow' ? `allow ${e.reason}` : `${e.status} ${e.reason}${e.detail === undefined ? '' : ` (${e.detail})`}`
  const options = k.options === undefined ? '' : ` ${JSON.stringify(k.options)}`
  return `[${k.klass}]${options} ${k.method} ${url} -> ${outcome}`
}

const authorizers = new Map<string, Authorizer>()
function authorizerFor (options: AuthorizerOptions | undefined): Authorizer {
  const key = JSON.stringify(options ?? {})
  let authorizer = authorizers.get(key)
  if (authorizer === undefined) {
    authorizer = createAuthorizer(options)
    authorizers.set(key, authorizer)
  }
  return authorizer
}

for (const k of cases) {
  t.test(caseName(k), async (t) => {
    const authorizer = authorizerFor(k.options)
    const claims = k.claims === undefined ? FULL : k.claims
    const decision = authorizer.authorize({ method: k.method, url: k.url, headers: k.headers ?? {} }, claims)
    const e = k.expect
    if (e.kind === 'outside') {
      t.equal(decision.kind === 'allow', true, 'passes untouched')
      t.equal(decision.reason, 'not-guarded')
      t.equal(authorizer.inspect({ method: k.method, url: k.url }).kind, 'outside')
      return
    }
    if (decision.reason === 'not-guarded') {
      t.fail(`was judged outside the guarded space${k.note === undefined ? '' : ` (${k.note})`}`)
      return
    }
    if (e.kind === 'allow') {
      t.equal(decision.kind === 'allow', true, 'allowed')
      t.equal(decision.reason, e.reason)
      t.equal(decision.route?.template, e.template)
      if (e.params !== undefined) t.same({ ...decision.params }, e.params)
      if (e.required !== undefined) t.same(decision.required, e.required)
      if (e.path !== undefined) t.equal(decision.path, e.path, 'the decision names the path without the query')
      return
    }
    t.equal(decision.kind === 'allow', false, `denied${k.note === undefined ? '' : ` (${k.note})`}`)
    t.equal(decision.reason, e.reason)
    if (decision.kind === 'allow') return
    t.equal(decision.status, e.status)
    t.equal(decision.detail, e.detail)
    if (e.missing !== undefined) t.same(decision.missing, e.missing)
  })
}

t.test('a malformed guarded path is answered 400 before credentials are read', async (t) => {
  const authorizer = createAuthorizer()
  for (const claims of [null, undefined, FULL, { project_id: OTHER_PROJECT }]) {
    const decision = authorizer.authorize({ method: 'GET', url: `/v2/${P}/snapshots/%2e%2e` }, claims)
    t.equal(decision?.kind, 'deny')
    t.equal(decision?.kind === 'deny' ? decision.status : undefined, 400)
  }
})

t.test('compilePathGate: the canonical path and template start it hands to the matcher', async (t) => {
  t.same(compilePathGate('').inspect(`/v2/${P}/snapshots?x=1`), { kind: 'guarded', path: `/v2/${P}/snapshots`, start: 0 })
  t.same(compilePathGate('/evs').inspect(`/evs/v3/${P}/snapshots`), { kind: 'guarded', path: `/evs/v3/${P}/snapshots`, start: 4 })
  t.same(compilePathGate('/evs').inspect('/evs/other'), { kind: 'outside' })
  t.same(compilePathGate('').inspect(`/v2/${P}/snapshots/a%2Fb`),
    { kind: 'malformed', problem: 'encoded-slash', path: `/v2/${P}/snapshots/a%2Fb` })
})

// Property: hostile strings after /v2/<P>/ never make authorize throw, and whatever it allows is
// canonical in every reading a backend might apply.
const HOSTILE = ['/', '.', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'C', '\\', ';', '#', 'v', 'a', 'snapshots', 'detail'] as const

function canonicalProblem (url: string): string | undefined {
  const path = url.split('?')[0] ?? ''
  if (path.includes('\\')) return 'backslash'
  if (path.split('/').slice(1).some((s) => s === '')) return 'empty segment'
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return 'decodeURIComponent throws'
  }
  if (decoded.includes('\\')) return 'decoded backslash'
  if (decoded.split('/').slice(1).some((s) => s === '.' || s === '..')) return 'dot segment after decoding'
  if (decoded.split('/').slice(1).some((s) => s === '')) return 'empty segment after decoding'
  return undefined
}

t.test('property: hostile suffixes never throw, and every allow is canonical', async (t) => {
  const suffix = fc.array(fc.constantFrom(...HOSTILE), { maxLength: 14 }).map((parts) => parts.join(''))
  const method = fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE')
  for (const options of [{}, PASS] as const) {
    let allows = 0
    fc.assert(fc.property(suffix, method, (s, m) => {
      const url = `/v2/${P}/${s}`
      const decision = authorizerFor(options).authorize({ method: m, url, headers: {} }, FULL)
      if (decision.reason === 'not-guarded') throw new Error(`${url} judged outside the guarded space`)
      if (decision.kind === 'deny') return true
      allows++
      const problem = canonicalProblem(url)
      if (problem !== undefined) throw new Error(`${m} ${url} allowed (${decision.reason}) with ${problem}`)
      return true
    }), { numRuns: 3000 })
    // The property is vacuous unless some inputs are allowed.
    t.ok(allows > 0, `${JSON.stringify(options)}: ${allows} allowed inputs were checked`)
  }
})

t.test('property: the canonical-reading checker itself rejects the known-bad spellings', async (t) => {
  // Guards the property above against a checker that accepts everything.
  for (const url of [`/v2/${P}/snapshots/%2e%2e`, `/v2/${P}/snapshots//x`, `/v2/${P}/x\\y`, `/v2/${P}/%c0%ae`, `/v2/${P}/.`]) {
    t.not(canonicalProblem(url), undefined, url)
  }
  t.equal(canonicalProblem(`/v2/${P}/snapshots/detail?x=/../`), undefined)
})

t.test('long hostile targets are decided in linear time', async (t) => {
  const authorizer = createAuthorizer({ unmatched: 'pass' })
  const inputs = [
    `/v2/${P}/${'%2e'.repeat(30000)}`,
    `/${'v2/'.repeat(30000)}`,
    `/${'%'.repeat(100000)}v2`,
    `/${'a/'.repeat(50000)}..%2fv2`,
    `http://${'a'.repeat(100000)}`,
    `${'a'.repeat(100000)}:`
  ]
  const started = process.hrtime.bigint()
  for (const url of inputs) authorizer.authorize({ method: 'GET', url }, FULL)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  t.ok(ms < 1000, `six 100 kB targets took ${ms.toFixed(1)} ms`)
})
