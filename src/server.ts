import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ConfigError, loadConfig, type Config } from './config.js'
import app, { options } from './app.js'

// Entry point: builds the app, listens on both ports, and stops cleanly on SIGTERM/SIGINT.
export async function start (config: Config, role: 'server' | 'worker' = 'server') {
  const fastify = Fastify(options(config)).withTypeProvider<TypeBoxTypeProvider>()
  await fastify.register(app, { config, role })

  // close-with-grace: on a signal, fastify.close() runs preClose (readiness false, gRPC NOT_SERVING, stop
  // accepting), waits for in-flight requests and calls, then closes workers, clients and the embedded Redis.
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: fastify.log }, async ({ signal, err }) => {
    if (err) fastify.log.error({ err }, 'shutting down after an error')
    else fastify.log.info({ signal }, 'shutting down')
    fastify.health.beginShutdown()
    const drainMs = err ? 0 : config.SHUTDOWN_DRAIN_MS
    if (drainMs > 0) await new Promise(resolve => setTimeout(resolve, drainMs))
    await fastify.close()
  })

  if (role === 'server') {
    await fastify.listen({ host: config.HOST, port: config.HTTP_PORT })
  } else {
    await fastify.ready()
    fastify.log.info('worker ready')
  }
  return fastify
}

function bootConfig (): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`playfield: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/server.js')
if (isMain) {
  start(bootConfig()).catch((err: Error) => {
    process.stderr.write(`playfield: failed to start: ${err.message}\n`)
    process.exit(1)
  })
}
export { bootConfig }
