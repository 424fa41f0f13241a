// `npm start`: runs the demo gateway until Ctrl-C or SIGTERM. PORT (default 8080), EVS_UPSTREAM (default: the
// embedded in-memory backend), EVS_AUTHZ_DEMO_SECRET (default: random per run) and LOG_LEVEL (default info;
// debug logs allowed requests too) configure it.
import { describeDemo, startDemo } from './demo.js'

const env = process.env
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
const logLevel = env['LOG_LEVEL'] ?? 'info'
if (!LEVELS.includes(logLevel)) {
  console.error(`LOG_LEVEL should be one of ${LEVELS.join(', ')}, instead got '${logLevel}'`)
  process.exit(2)
}
const demo = await startDemo({
  port: Number(env['PORT'] ?? 8080),
  logger: true,
  logLevel,
  ...(env['EVS_UPSTREAM'] === undefined ? {} : { upstream: env['EVS_UPSTREAM'] }),
  ...(env['EVS_AUTHZ_DEMO_SECRET'] === undefined ? {} : { secret: env['EVS_AUTHZ_DEMO_SECRET'] })
})
console.log(describeDemo(demo))
const stop = (): void => {
  demo.close().then(() => process.exit(0), () => process.exit(1))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
