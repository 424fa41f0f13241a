// `npm start`: runs the demo gateway until Ctrl-C. PORT (default 8080), EVS_UPSTREAM (default: the
// embedded in-memory backend) and EVS_AUTHZ_DEMO_SECRET (default: random per run) configure it.
import { describeDemo, startDemo } from './demo.js'

const env = process.env
const demo = await startDemo({
  port: Number(env['PORT'] ?? 8080),
  logger: true,
  ...(env['EVS_UPSTREAM'] === undefined ? {} : { upstream: env['EVS_UPSTREAM'] }),
  ...(env['EVS_AUTHZ_DEMO_SECRET'] === undefined ? {} : { secret: env['EVS_AUTHZ_DEMO_SECRET'] })
})
console.log(describeDemo(demo))
const stop = (): void => {
  demo.close().then(() => process.exit(0), () => process.exit(1))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
