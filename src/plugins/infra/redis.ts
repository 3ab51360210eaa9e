import fp from 'fastify-plugin'
import { Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../../config.js'
import { startRedisServer, type RedisServerHandle } from './redis-server.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    /** Makes another connection to the same Redis (BullMQ workers need their own); closed by this plugin. */
    redisConnection (overrides?: RedisOptions): Redis
    /**
     * Resolves once none of our connections is between sockets (connecting or waiting to reconnect), or after `ms`.
     * ioredis' disconnect() on a client between sockets cancels its retry and never emits 'end', and BullMQ's
     * Worker.close() waits for that 'end': a worker closed a moment after Redis came back would never finish.
     */
    redisSettled (ms: number): Promise<void>
  }
}

// Requests fail fast while Redis is away (the error model turns that into 503 / UNAVAILABLE) instead of
// piling up; the client keeps reconnecting in the background and readiness follows the PING probe.
const clientOptions: RedisOptions = {
  maxRetriesPerRequest: 2,
  connectTimeout: 5000,
  retryStrategy: (times) => Math.min(times * 50, 500),
  lazyConnect: true
}

export default fp(async function redisPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'redis' })
  let embedded: RedisServerHandle | undefined
  let url = config.REDIS_URL
  if (!url) {
    embedded = await startRedisServer({ bin: config.REDIS_SERVER_BIN, dir: config.REDIS_DATA_DIR, aof: true })
    url = embedded.url
    log.info({ port: embedded.port, dir: embedded.dir, pid: embedded.pid }, 'started embedded redis-server (set REDIS_URL to use your own)')
  }

  const made: Redis[] = []
  const track = (client: Redis) => {
    client.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis connection error'))
    made.push(client)
    // BullMQ duplicates the connections it is given (blocking reads): those are ours to close and to wait on as
    // well, or a client still reconnecting to an unreachable Redis would keep the process alive after close.
    const duplicate = client.duplicate.bind(client)
    client.duplicate = (override?: Partial<RedisOptions>) => track(duplicate(override))
    return client
  }
  const connect = (overrides: RedisOptions = {}) => track(new Redis(url, { ...clientOptions, ...overrides }))

  const redis = connect()
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    await embedded?.stop()
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`)
  }

  app.decorate('redis', redis)
  app.decorate('redisConnection', (overrides?: RedisOptions) => {
    const c = connect({ lazyConnect: false, ...overrides })
    return c
  })
  app.decorate('redisSettled', async (ms: number) => {
    const until = Date.now() + ms
    const between = () => made.some(c => ['close', 'reconnecting', 'connecting', 'connect'].includes(c.status))
    while (between() && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
  })
  app.health.addProbe('redis', () => redis.ping())

  app.addHook('onClose', async () => {
    // QUIT lets pending replies arrive; a client stuck reconnecting to a dead server is just dropped.
    await Promise.all(made.map(async c => {
      await Promise.race([c.quit().catch(() => {}), new Promise(resolve => setTimeout(resolve, 1000).unref())])
      c.disconnect()
    }))
    if (embedded) {
      await embedded.stop()
      log.info('embedded redis-server stopped')
    }
  })
}, { name: 'redis', dependencies: ['health'] })

function redactUrl (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
