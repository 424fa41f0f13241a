// Starts scripts/cinder/oracle.py (Cinder's real cinder-api stack with only the controller dispatch
// replaced by a recorder) once, and asks it about raw requests over a raw TCP socket (node:net): the
// bytes sent are exactly the bytes a gateway would write, with no HTTP client normalizing them.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import type { OracleAnswer } from './model.js'

export interface Oracle {
  readonly port: number
  ask (raw: Buffer): Promise<OracleAnswer>
  stop (): Promise<void>
}

/** Starts the oracle on 127.0.0.1 (port 0: any free port) from the Cinder configuration directory setup.sh wrote. */
export async function startOracle (root: string, cinderDir: string, port: number): Promise<Oracle> {
  const args = [join(root, 'scripts/cinder/oracle.py'), '--config-file', join(cinderDir, 'cinder.conf'), '--port', String(port),
    '--log-file', join(cinderDir, 'oracle.log')]
  const child = spawn('/usr/bin/python3', args, {
    // PYTHONPATH: an --isolated configuration's paste filter (cinder_token_identity.py) lives in its directory.
    env: { PATH: '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8', PYTHONWARNINGS: 'ignore', PYTHONPATH: cinderDir },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const listening = await new Promise<number>((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`the oracle did not start within 60 s\n${out}${err}`)), 60_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const found = /listening on 127\.0\.0\.1:(\d+)/.exec(out)
      if (found !== null) {
        clearTimeout(timer)
        resolve(Number(found[1]))
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => { err = (err + chunk.toString()).slice(-4000) })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the oracle exited (${code}) before listening\n${out}${err}`))
    })
  })
  return {
    port: listening,
    ask: async (raw) => await ask(listening, raw),
    stop: async () => { await stop(child) }
  }
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/**
 * Writes the request and half-closes the socket: the server reads one request, answers, then sees the end
 * of the stream and closes. Only the first response is read (a body the server did not read would be
 * parsed as a second request).
 */
async function ask (port: number, raw: Buffer): Promise<OracleAnswer> {
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(30_000, () => socket.destroy(new Error('oracle timed out')))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks)))
    socket.end(raw)
  })
  return parseAnswer(bytes)
}

/** The oracle's envelope, or (when the WSGI server refused the request itself) its status line only. */
export function parseAnswer (bytes: Buffer): OracleAnswer {
  const text = bytes.toString('latin1')
  const headEnd = text.indexOf('\r\n\r\n')
  const head = headEnd === -1 ? text : text.slice(0, headEnd)
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
  if (!/\r\nX-Evs-Oracle: 1\r\n/i.test(`${head}\r\n`)) {
    const server = head.split('\r\n', 1)[0] ?? ''
    return { status: status === 0 ? 400 : status, dispatched: null, refused: null, query: null, environ: null, server }
  }
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0)
  const body = bytes.subarray(Buffer.byteLength(text.slice(0, headEnd + 4), 'latin1')).subarray(0, length)
  return JSON.parse(body.toString('utf8')) as OracleAnswer
}
