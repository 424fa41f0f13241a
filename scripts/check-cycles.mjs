// `node scripts/check-cycles.mjs [DIR]` (run by `npm test`): fails, printing each cycle, when the TypeScript
// files under DIR (default src/) import each other in a cycle. Type-only imports, re-exports and dynamic
// import() count too: a cycle of types still ties the modules' meaning together. Only relative imports
// are followed (packages cannot import our files). TypeScript's own scanner finds the imports, so strings
// and comments that look like imports are not counted and no new dependency is needed.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/** Every TypeScript source below `dir`, sorted (declaration files describe modules, they are not ours to order). */
export function sourceFiles (dir) {
  return readdirSync(dir, { recursive: true })
    .map((name) => join(dir, String(name)))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && statSync(file).isFile())
    .sort()
}

const isRelative = (specifier) => specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../')

/** The file a relative specifier names: ESM `./x.js` is `./x.ts` in the sources; `./x` may be `./x.ts` or `./x/index.ts`. */
function resolveSpecifier (from, specifier) {
  const base = resolve(dirname(from), specifier)
  const candidates = specifier.endsWith('.js')
    ? [`${base.slice(0, -'.js'.length)}.ts`]
    : [base, `${base}.ts`, join(base, 'index.ts')]
  return candidates.find((file) => file.endsWith('.ts') && existsSync(file) && statSync(file).isFile())
}

/** file -> the files it imports, for the given files only. */
export function importGraph (files) {
  const known = new Set(files)
  const graph = new Map()
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const targets = new Set()
    for (const { fileName } of importedFiles) {
      if (!isRelative(fileName)) continue
      const target = resolveSpecifier(file, fileName)
      if (target !== undefined && known.has(target)) targets.add(target)
    }
    graph.set(file, [...targets].sort())
  }
  return graph
}

/** The strongly connected components with a cycle (Tarjan's algorithm, iterative: linear, no deep recursion). */
export function cyclicComponents (graph) {
  const index = new Map()
  const low = new Map()
  const onStack = new Set()
  const stack = []
  const components = []
  let next = 0
  for (const root of graph.keys()) {
    if (index.has(root)) continue
    const work = [{ node: root, edge: 0 }]
    index.set(root, next); low.set(root, next); next++
    stack.push(root); onStack.add(root)
    while (work.length > 0) {
      const frame = work[work.length - 1]
      const edges = graph.get(frame.node) ?? []
      if (frame.edge < edges.length) {
        const target = edges[frame.edge++]
        if (!index.has(target)) {
          index.set(target, next); low.set(target, next); next++
          stack.push(target); onStack.add(target)
          work.push({ node: target, edge: 0 })
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(target)))
        }
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1].node
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)))
      }
      if (low.get(frame.node) !== index.get(frame.node)) continue
      const component = []
      let member
      do {
        member = stack.pop()
        onStack.delete(member)
        component.push(member)
      } while (member !== frame.node)
      const selfLoop = (graph.get(frame.node) ?? []).includes(frame.node)
      if (component.length > 1 || selfLoop) components.push(component.sort())
    }
  }
  return components
}

/** One concrete cycle through the component's first file, as a path that ends where it starts (breadth-first: a shortest one). */
export function cycleIn (graph, component) {
  const members = new Set(component)
  const start = component[0]
  const previous = new Map()
  const queue = [start]
  for (let at = 0; at < queue.length; at++) {
    const node = queue[at]
    for (const target of graph.get(node) ?? []) {
      if (!members.has(target)) continue
      if (target === start) {
        const path = [start]
        for (let step = node; step !== start; step = previous.get(step)) path.splice(1, 0, step)
        return [...path, start]
      }
      if (!previous.has(target)) {
        previous.set(target, node)
        queue.push(target)
      }
    }
  }
  return [start, start]
}

/**
 * Every group of files that import each other in a cycle, relative to `base`: `cycle` is one concrete cycle
 * (it ends where it starts), `files` every file of the group (a group may hold more files than one cycle shows).
 */
export function findCycles (dir, base = dir) {
  const graph = importGraph(sourceFiles(dir))
  return cyclicComponents(graph).map((component) => ({
    cycle: cycleIn(graph, component).map((file) => relative(base, file)),
    files: component.map((file) => relative(base, file))
  }))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? 'src')
  const cycles = findCycles(dir, process.cwd())
  if (cycles.length === 0) {
    console.log(`check-cycles: no import cycles in ${relative(process.cwd(), dir) || '.'}`)
  } else {
    console.error(`check-cycles: ${cycles.length} import cycle(s) in ${relative(process.cwd(), dir) || '.'} (type-only imports count):`)
    for (const { cycle, files } of cycles) {
      console.error(`  ${cycle.join(' -> ')}`)
      const others = files.filter((file) => !cycle.includes(file))
      if (others.length > 0) console.error(`    (the same group also holds: ${others.join(', ')})`)
    }
    process.exitCode = 1
  }
}
