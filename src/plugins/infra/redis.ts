import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { Config } from '../../config.js'
import type { RedisClient } from './lua.js'
import { startRedisServer, type RedisServerHandle } from './redis-server.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared client: one Redis (REDIS_URL or the embedded server) or a Redis Cluster (REDIS_CLUSTER_NODES). */
    redis: RedisClient
    /** Makes another connection to the same Redis (BullMQ workers need their own); closed by this plugin. */
    redisConnection (overrides?: RedisOptions): RedisClient
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

// On a cluster, a command for a slot whose master just died is retried while a replica takes over (CLUSTERDOWN,
// TRYAGAIN, connection lost) and the slot map is refreshed, instead of failing at once.
const clusterOptions: ClusterOptions = {
  clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 300,
  retryDelayOnTryAgain: 200,
  slotsRefreshTimeout: 2000,
  slotsRefreshInterval: 2000,
  lazyConnect: true
}

/** `host:port,host:port` → ioredis' startup nodes. */
export function clusterNodes (list: string): Array<{ host: string, port: number }> {
  return list.split(',').map(hp => {
    const at = hp.lastIndexOf(':')
    return { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) }
  })
}

/**
 * Ends a cluster client's periodic slot refresh for good once it is closed. ioredis clears the refresh timer on
 * quit/disconnect, but a refresh still in flight at that moment schedules the next round when it completes, and
 * every round schedules another: the timer then keeps the process alive forever (seen as test files on a cluster
 * that passed and never exited). After this, the next round finds nothing to do and schedules nothing.
 */
export function endSlotRefresh (client: RedisClient): void {
  if (!(client instanceof Cluster)) return
  const internals = client as unknown as {
    refreshSlotsCache (cb?: () => void): void
    clearNodesRefreshInterval (): void
  }
  internals.refreshSlotsCache = () => {}
  internals.clearNodesRefreshInterval()
}

export default fp(async function redisPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'redis' })
  let embedded: RedisServerHandle | undefined
  let url = config.REDIS_URL
  if (!url && !config.REDIS_CLUSTER_NODES) {
    // The lock refuses a second process on the same AOF (a second server, or an admin command while this runs).
    // A random password per start (only our own clients know it, from the URL) and a supervisor that starts the
    // server again if it dies: the process and its Redis come back together.
    embedded = await startRedisServer({
      bin: config.REDIS_SERVER_BIN,
      dir: config.REDIS_DATA_DIR,
      aof: true,
      lock: true,
      // Bounded, and never dropping what it was given to keep (BullMQ needs noeviction too): at the cap writes are
      // refused with an OOM error, which callers get as 503.
      extraArgs: ['--maxmemory', config.REDIS_MAXMEMORY, '--maxmemory-policy', 'noeviction'],
      password: randomBytes(24).toString('hex'),
      supervise: true,
      onEvent: (event, { code, signal, err }) => {
        if (event === 'restarted') log.info({ pid: embedded?.pid }, 'embedded redis-server restarted')
        else log.error({ code, signal, err: err && { message: err.message } }, `embedded redis-server ${event}`)
      }
    })
    url = embedded.url
    log.info({ port: embedded.port, dir: embedded.dir, pid: embedded.pid }, 'started embedded redis-server (set REDIS_URL to use your own)')
  }
  const where = url ? redactUrl(url) : `cluster ${config.REDIS_CLUSTER_NODES}`

  const made: RedisClient[] = []
  let closing = false
  const track = <C extends RedisClient>(client: C): C => {
    client.on('error', (err: Error) => log.warn({ err: { message: err.message } }, 'redis connection error'))
    client.once('end', () => endSlotRefresh(client))
    // A connection asked for once close has begun (BullMQ duplicates lazily) would never be closed, and a client
    // that reconnects forever keeps the process alive: it is closed at once.
    if (closing) {
      client.disconnect()
      return client
    }
    made.push(client)
    // BullMQ duplicates the connections it is given (blocking reads): those are ours to close and to wait on as
    // well, or a client still reconnecting to an unreachable Redis would keep the process alive after close.
    const duplicate = client.duplicate.bind(client) as (override?: object) => C
    client.duplicate = ((override?: object) => track(duplicate(override))) as typeof client.duplicate
    return client
  }
  const connect = (overrides: RedisOptions = {}): RedisClient => {
    if (url) return track(new Redis(url, { ...clientOptions, ...overrides }))
    // Not on a cluster: ioredis' auto-pipelining there failed scripts (defineCommand) with 500s in the cluster test
    // pass (test/routes/ads.test.ts, test/cluster/redis-cluster.test.ts); the cluster client sends each command.
    const { lazyConnect, enableAutoPipelining: _single, ...perNode } = { ...clientOptions, ...overrides }
    return track(new Cluster(clusterNodes(config.REDIS_CLUSTER_NODES!), {
      ...clusterOptions,
      lazyConnect: lazyConnect ?? true,
      redisOptions: {
        ...perNode,
        username: config.REDIS_USERNAME,
        password: config.REDIS_PASSWORD,
        ...(config.REDIS_TLS ? { tls: {} } : {})
      }
    }))
  }

  // The shared client pipelines automatically (one Redis, not a cluster: see connect): commands issued in the same
  // tick (many concurrent requests, or the two counters of one ad request) leave in one socket write, not one each.
  // Profiled under load, the per-command socket write was the largest single cost of GET /impression (BENCHMARKS.md).
  // Connections made by redisConnection (BullMQ's, with blocking reads) don't.
  // The shared client and every connection asked for without overrides time out their commands. BullMQ workers
  // pass `commandTimeout: undefined`: their blocking reads (BZPOPMIN…) wait on purpose and must not time out.
  const timeouts: RedisOptions = { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS }
  const redis = connect({ ...timeouts, enableAutoPipelining: true })
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    await embedded?.stop()
    throw new Error(`cannot reach Redis at ${where}: ${(err as Error).message}`)
  }
  if (redis instanceof Cluster) {
    log.info({ masters: redis.nodes('master').length }, 'connected to a Redis Cluster')
  }

  app.decorate<RedisClient>('redis', redis)
  app.decorate('redisConnection', (overrides?: RedisOptions) => connect({ lazyConnect: false, ...timeouts, ...overrides }))
  app.decorate('redisSettled', async (ms: number) => {
    const until = Date.now() + ms
    const between = () => made.some(c => ['close', 'reconnecting', 'connecting', 'connect'].includes(c.status))
    while (between() && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
  })
  // A cluster is ready when it says so and every master it routes to answers: a master that died makes the
  // process unready until its replica has taken over and the slot map is refreshed.
  app.health.addProbe('redis', redis instanceof Cluster ? () => clusterOk(redis) : () => redis.ping())

  app.addHook('onClose', async () => {
    closing = true
    // QUIT lets pending replies arrive; a client stuck reconnecting to a dead server is just dropped.
    await Promise.all(made.map(async c => {
      await Promise.race([c.quit().catch(() => {}), new Promise(resolve => setTimeout(resolve, 1000).unref())])
      c.disconnect()
      endSlotRefresh(c)
    }))
    if (embedded) {
      await embedded.stop()
      log.info('embedded redis-server stopped')
    }
  })
}, { name: 'redis', dependencies: ['health'] })

async function clusterOk (cluster: Cluster): Promise<void> {
  const masters = cluster.nodes('master')
  if (masters.length === 0) throw new Error('no master known')
  const infos = await Promise.all(masters.map(m => m.cluster('INFO') as Promise<string>))
  if (!infos.every(info => info.includes('cluster_state:ok'))) throw new Error('cluster_state is not ok')
}

function redactUrl (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
