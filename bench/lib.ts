import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import Fastify, { type FastifyInstance } from 'fastify'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { loadConfig, type Config } from '../src/config.js'
import app, { options } from '../src/app.js'
import type { Clock } from '../src/clock.js'
import { startRedisServer, type RedisServerHandle } from '../src/plugins/infra/redis-server.js'

// The bench harness. Every figure is reported beside a bare baseline measured in the same process run:
// bare Fastify hello-world (HTTP), bare grpc-js bidi echo (gRPC streams), raw BullMQ add+process (queues).
// Everything runs on loopback against private servers started here, and every load is bounded in time or count.

export interface BenchResult {
  figure: string
  unit: string
  ours: number
  baseline?: number
  baselineName?: string
  /** ours / baseline (for throughput: higher is better) */
  ratio?: number
  p50?: number
  p99?: number
  target?: string
  note?: string
}

export interface HttpLoadResult { rps: number, p50: number, p99: number, errors: number, non2xx: number, total: number }
export interface StreamLoadResult { msgsPerSec: number, p50: number, p99: number, count: number }

export interface StartedApp {
  app: FastifyInstance
  url: string
  grpcAddress: string
  close (): Promise<void>
}

export interface BenchContext {
  redis: RedisServerHandle
  /** Seconds each HTTP load runs (≤ 30 s per scenario overall). */
  durationSec: number
  connections: number
  startApp (overrides?: Record<string, string | undefined>, clock?: Clock): Promise<StartedApp>
  httpLoad (opts: autocannon.Options): Promise<HttpLoadResult>
  /** Bare Fastify hello-world at the same connections and duration (measured once per run, then reused). */
  bareHttp (): Promise<HttpLoadResult>
  /** Bare grpc-js bidi echo stream: `count` messages with at most `window` unanswered (measured once per run). */
  bareGrpcEcho (count: number, window: number): Promise<StreamLoadResult>
  /** Raw BullMQ: `jobs` jobs of `payload` added in bulk batches of `batch`, processed by a no-op worker. */
  rawBullmq (jobs: number, payload: unknown, batch: number, concurrency: number): Promise<{ jobsPerSec: number }>
  log (msg: string): void
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function run (opts: autocannon.Options): Promise<HttpLoadResult> {
  const r = await autocannon(opts)
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total
  }
}

/**
 * Drives a bidi stream: writes `count` messages keeping at most `window` unanswered, honouring write()/'drain',
 * and measures per-message latency from write to its answer (answers arrive in order).
 */
export async function driveBidi (call: grpc.ClientDuplexStream<any, any>, make: (i: number) => unknown,
  count: number, window: number): Promise<StreamLoadResult> {
  const sentAt: number[] = new Array(count)
  const latencies: number[] = new Array(count)
  let sent = 0
  let received = 0
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    let waitingDrain = false
    const pump = () => {
      while (sent < count && sent - received < window && !waitingDrain) {
        sentAt[sent] = performance.now()
        const ok = call.write(make(sent))
        sent++
        if (!ok) {
          waitingDrain = true
          call.once('drain', () => { waitingDrain = false; pump() })
        }
      }
      if (sent === count) call.end()
    }
    call.on('data', () => {
      latencies[received] = performance.now() - sentAt[received]!
      received++
      if (received === count) resolve()
      else pump()
    })
    call.on('error', reject)
    pump()
  })
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { msgsPerSec: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), count }
}

async function bareEchoServer (): Promise<{ port: number, client: any, close (): void }> {
  const def = protoLoader.loadSync(join(fileURLToPath(new URL('.', import.meta.url)), 'echo.proto'), { keepCase: true })
  const pkg = grpc.loadPackageDefinition(def) as any
  const server = new grpc.Server()
  server.addService(pkg.bench.Echo.service, {
    echo (call: grpc.ServerDuplexStream<any, any>) {
      call.on('data', (m) => call.write(m))
      call.on('end', () => call.end())
    }
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => err ? reject(err) : resolve(p)))
  const client = new pkg.bench.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  return { port, client, close () { client.close(); server.forceShutdown() } }
}

export async function createContext (opts: { durationSec: number, connections: number }):
Promise<BenchContext & { close (): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'playfield-bench-'))
  const redis = await startRedisServer({ dir, aof: false })
  const started: StartedApp[] = []
  let bareHttpResult: HttpLoadResult | undefined
  let bareEchoResult: StreamLoadResult | undefined
  const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

  const ctx: BenchContext = {
    redis,
    durationSec: opts.durationSec,
    connections: opts.connections,
    log,
    async startApp (overrides = {}, clock) {
      const config: Config = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        HTTP_PORT: '0',
        GRPC_PORT: '0',
        METRICS_ENABLED: 'true',
        JWT_SECRET: 'bench-jwt-secret-bench-jwt-secret-000000',
        ADS_SIGNING_SECRET: 'bench-ads-signing-secret',
        ADMIN_USER: 'admin',
        ADMIN_PASSWORD: 'admin-password',
        REDIS_URL: redis.url,
        ...overrides
      })
      const fastify = Fastify({ ...options(config), logger: { level: 'warn' } })
      await fastify.register(app, { config, clock })
      await fastify.listen({ host: '127.0.0.1', port: 0 })
      const port = (fastify.server.address() as { port: number }).port
      const s: StartedApp = {
        app: fastify,
        url: `http://127.0.0.1:${port}`,
        grpcAddress: `127.0.0.1:${fastify.grpc.port}`,
        async close () { await fastify.close() }
      }
      started.push(s)
      return s
    },
    httpLoad: (o) => run({ connections: opts.connections, duration: opts.durationSec, ...o }),
    async bareHttp () {
      if (bareHttpResult) return bareHttpResult
      const bare = Fastify({ logger: false })
      bare.get('/', async () => ({ hello: 'world' }))
      await bare.listen({ host: '127.0.0.1', port: 0 })
      const port = (bare.server.address() as { port: number }).port
      bareHttpResult = await run({ url: `http://127.0.0.1:${port}/`, connections: opts.connections, duration: opts.durationSec })
      await bare.close()
      return bareHttpResult
    },
    async bareGrpcEcho (count, window) {
      if (bareEchoResult) return bareEchoResult
      const echo = await bareEchoServer()
      bareEchoResult = await driveBidi(echo.client.Echo(), (i) => ({ name: `player-${i % 1000}`, score: i }), count, window)
      echo.close()
      return bareEchoResult
    },
    async rawBullmq (jobs, payload, batch, concurrency) {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const name = `raw-${Date.now()}`
      const queue = new Queue(name, { connection, prefix: 'bench:q' })
      let done = 0
      let allDone: () => void = () => {}
      const finished = new Promise<void>((resolve) => { allDone = resolve })
      const workerConnection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const worker = new Worker(name, async () => {
        if (++done === jobs) allDone()
      }, { connection: workerConnection, prefix: 'bench:q', concurrency })
      const t0 = performance.now()
      for (let i = 0; i < jobs; i += batch) {
        const n = Math.min(batch, jobs - i)
        await queue.addBulk(Array.from({ length: n }, () => ({ name: 'raw', data: payload, opts: { removeOnComplete: true } })))
      }
      await finished
      const seconds = (performance.now() - t0) / 1000
      await worker.close()
      workerConnection.disconnect()
      await queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
      connection.disconnect()
      return { jobsPerSec: jobs / seconds }
    }
  }
  return {
    ...ctx,
    async close () {
      for (const s of started) await s.close().catch(() => {})
      await redis.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export function ratioOf (ours: number, baseline: number): number {
  return baseline === 0 ? 0 : Math.round((ours / baseline) * 1000) / 1000
}
