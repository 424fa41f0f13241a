import t from 'tap'
import { match } from 'path-to-regexp'
import { parseTemplate, toColonSyntax } from '../../../src/core/routing/template.js'

const valid: Array<[string, string[]]> = [
  ['/v2/{project_id}/snapshots', ['static:v2', 'param:project_id', 'static:snapshots']],
  ['/v2/{project_id}/snapshots/{snapshot_id}/metadata/{key}', ['static:v2', 'param:project_id', 'static:snapshots', 'param:snapshot_id', 'static:metadata', 'param:key']],
  ['/v3/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback', ['static:v3', 'param:project_id', 'static:os-vendor-snapshots', 'param:snapshot_id', 'static:rollback']]
]

for (const [template, expected] of valid) {
  t.test(`parses ${template}`, async (t) => {
    const parsed = parseTemplate(template)
    t.equal(parsed.ok, true)
    if (!parsed.ok) return
    t.same(parsed.segments.map((s) => `${s.kind}:${s.kind === 'static' ? s.value : s.name}`), expected)
    // path-to-regexp agrees on what the template accepts once braces become colons.
    const sample = parsed.segments.map((s) => (s.kind === 'static' ? s.value : `x${s.name.length}`)).join('/')
    t.ok(match(toColonSyntax(template), { sensitive: true, trailing: false, decode: false })(`/${sample}`))
  })
}

const invalid: Array<[string, RegExp]> = [
  ['v2/{project_id}', /starting with "\/"/],
  ['/v2/{project_id}{snapshot_id}', /only one parameter per segment/],
  ['/v2/{snapshot_id}.json', /only one parameter per segment/],
  ['/v2/*rest', /wildcards are not allowed/],
  ['/v2/:id', /":"/],
  ['/v2//snapshots', /is empty/],
  ['/v2/snapshots/', /is empty/],
  ['/v2/{project_id', /expected }|Unexpected/],
  ['/v2/{1bad}', /parameter name/],
  ['/v2/{a}/x/{a}', /appears more than once/],
  ['/v2/../snapshots', /canonical/],
  ['/v2/sn%61pshots', /canonical/]
]

for (const [template, problem] of invalid) {
  t.test(`rejects ${template}`, async (t) => {
    const parsed = parseTemplate(template)
    t.equal(parsed.ok, false)
    if (parsed.ok) return
    t.match(parsed.problems.join('\n'), problem)
  })
}

t.test('Object.prototype names are not parameter names (parameters land in plain objects)', async (t) => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const parsed = parseTemplate(`/v2/{${name}}`)
    t.equal(parsed.ok, false, name)
    if (!parsed.ok) t.match(parsed.problems.join('\n'), /is reserved/)
  }
})
