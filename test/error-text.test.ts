import t from 'tap'
import { asError, errorCode, errorMessage } from '../src/error-text.js'

// What a thrown value turns into in a one-line message: Node errors, other Errors, and non-Errors (anything can be thrown).
const systemError = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' })
const cases: ReadonlyArray<{ name: string, thrown: unknown, code: string | undefined, message: string }> = [
  { name: 'a Node system error', thrown: systemError, code: 'ENOENT', message: 'ENOENT: no such file or directory' },
  { name: 'a plain Error', thrown: new SyntaxError('Unexpected token'), code: undefined, message: 'Unexpected token' },
  { name: 'an Error with a numeric code', thrown: Object.assign(new Error('x'), { code: 7 }), code: undefined, message: 'x' },
  { name: 'a thrown string', thrown: 'boom', code: undefined, message: 'boom' },
  { name: 'a thrown object with a code', thrown: { code: 'EPIPE' }, code: 'EPIPE', message: '[object Object]' },
  { name: 'null', thrown: null, code: undefined, message: 'null' },
  { name: 'undefined', thrown: undefined, code: undefined, message: 'undefined' }
]

t.test('errorCode and errorMessage read any thrown value without throwing', async (t) => {
  for (const c of cases) {
    t.equal(errorCode(c.thrown), c.code, `${c.name}: code`)
    t.equal(errorMessage(c.thrown), c.message, `${c.name}: message`)
  }
})

t.test('asError keeps an Error as it is and wraps anything else', async (t) => {
  for (const c of cases) {
    const error = asError(c.thrown)
    t.ok(error instanceof Error, c.name)
    if (c.thrown instanceof Error) t.equal(error, c.thrown, `${c.name}: the same object`)
    else t.equal(error.message, String(c.thrown), `${c.name}: its text`)
  }
})
