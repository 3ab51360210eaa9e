import fp from 'fastify-plugin'
import { Queue, Worker, type Job, type JobsOptions, type QueueOptions, type WorkerOptions } from 'bullmq'
import type { Config } from '../../config.js'
import { withTimeout } from './health.js'

// Every BullMQ queue and worker of the process is made here, so that they share connections sensibly,
// show up together in the dashboard, and close in the right order (workers before queues before Redis).

export interface QueueRegistry {
  /**
   * A producer-side queue. Keys live under `{<domain>:q}:<name>:…` (BullMQ prefix, never an ioredis keyPrefix);
   * the hash tag keeps every key of a queue in one Redis Cluster slot, as BullMQ's Lua scripts need.
   */
  queue<T = unknown, R = unknown> (domain: string, name: string,
    opts?: Partial<QueueOptions> & { defaultJobOptions?: JobsOptions }): Queue<T, R>
  /**
   * A worker for a queue, only when this process runs workers (WORKERS_ENABLED or the standalone worker entry).
   * Returns undefined otherwise. Each worker gets its own blocking connection with maxRetriesPerRequest null.
   */
  worker<T = unknown, R = unknown> (domain: string, name: string, processor: (job: Job<T, R>) => Promise<R>,
    opts?: Partial<WorkerOptions>): Worker<T, R> | undefined
  /** All queues made so far (the dashboard lists them). */
  all (): Queue[]
  readonly workersEnabled: boolean
}

declare module 'fastify' {
  interface FastifyInstance { queues: QueueRegistry }
}

export const prefixFor = (domain: string) => `{${domain}:q}`
/** Queue keys of the layout before hash tags (`users:q:ingest:…`) → their hash-tagged name (`{users:q}:ingest:…`). */
export const legacyQueueKey = (key: string): string | undefined => {
  const m = /^([a-z]+):q:(.+)$/.exec(key)
  return m ? `${prefixFor(m[1]!)}:${m[2]}` : undefined
}
/** The queue's public name, `<domain>:q:<name>` (the API and the CLI show it; braces are a storage detail). */
export const queueLabel = (prefix: string | undefined, name: string) => `${(prefix ?? 'bull').replace(/[{}]/g, '')}:${name}`

export default fp(async function queuesPlugin (app, { config, runWorkers }: { config: Config, runWorkers?: boolean }) {
  const log = app.log.child({ component: 'queues' })
  const queues = new Map<string, Queue>()
  const workers: Array<{ worker: Worker, connection: { disconnect (): void } }> = []
  const workersEnabled = runWorkers ?? config.WORKERS_ENABLED
  // Producers share one connection; they fail fast like any other Redis call when Redis is away.
  const producerConnection = app.redisConnection({ maxRetriesPerRequest: 2 })

  const registry: QueueRegistry = {
    workersEnabled,
    queue (domain, name, opts = {}) {
      const key = `${prefixFor(domain)}:${name}`
      let q = queues.get(key)
      if (!q) {
        q = new Queue(name, { ...opts, connection: producerConnection, prefix: prefixFor(domain) })
        q.on('error', (err) => log.warn({ err: { message: err.message }, queue: name }, 'queue error'))
        queues.set(key, q)
      }
      return q as any
    },
    worker (domain, name, processor, opts = {}) {
      if (!workersEnabled) return undefined
      // No commandTimeout: a worker's blocking reads wait on purpose (BullMQ duplicates this for them).
      const connection = app.redisConnection({
        maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined
      })
      const w = new Worker(name, processor, {
        concurrency: config.WORKER_CONCURRENCY,
        ...opts,
        connection,
        prefix: prefixFor(domain)
      })
      w.on('error', (err) => log.warn({ err: { message: err.message }, queue: name }, 'worker error'))
      w.on('failed', (job, err) => log.warn({ jobId: job?.id, queue: name, err: { message: err.message } }, 'job failed'))
      workers.push({ worker: w as Worker, connection })
      return w
    },
    all: () => [...queues.values()]
  }
  app.decorate('queues', registry)

  app.addHook('onClose', async () => {
    // Workers first: they finish their active jobs (BullMQ waits for them), then producers. With Redis already
    // unreachable a graceful close can never finish (it waits on replies that won't come), so then the workers are
    // force-closed: their active jobs' locks lapse and BullMQ's stalled-job check runs them again elsewhere.
    const force = !(await reachable())
    if (force) log.warn('Redis unreachable at shutdown: force-closing workers, their active jobs will be retried')
    else await app.redisSettled(2000)
    await Promise.all(workers.map(({ worker, connection }) =>
      bounded(`worker ${worker.name}`, worker.close(force), () => connection.disconnect(), config.SHUTDOWN_TIMEOUT_MS)))
    await Promise.all([...queues.values()].map(q =>
      bounded(`queue ${q.name}`, q.close(), () => producerConnection.disconnect(), 2000)))
  })

  const reachable = () => withTimeout(app.redis.ping(), 500).then(() => true, () => false)

  // Backstop for Redis vanishing in the middle of a close: past the limit the connection is dropped so shutdown
  // goes on.
  async function bounded (what: string, closing: Promise<unknown>, drop: () => void, ms: number) {
    let timer: NodeJS.Timeout | undefined
    const closed = await Promise.race([
      closing.then(() => true, (err: Error) => { log.warn({ err: { message: err.message } }, `${what} close failed`); return true }),
      new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) })
    ])
    clearTimeout(timer)
    if (!closed) {
      log.warn({ ms }, `${what} did not close in time (Redis unreachable?), dropping its connection`)
      drop()
    }
  }
}, { name: 'queues', dependencies: ['redis'] })
