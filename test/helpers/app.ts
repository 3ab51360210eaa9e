import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { credentials, type Client, type ChannelCredentials, type ServiceClientConstructor } from '@grpc/grpc-js'
import tap from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import app, { options, type AppOptions } from '../../src/app.js'
import type { Clock } from '../../src/clock.js'
import { startRedisServer, type RedisServerHandle } from '../../src/plugins/infra/redis-server.js'
import type { RedisClient } from '../../src/plugins/infra/lua.js'
import { startRedisCluster, type RedisClusterHandle } from './redis-cluster.js'
import { Cluster, Redis } from 'ioredis'

type Test = import('tap').Test

// Every test file is its own process under tap, so "per process" here means "per test file": one private
// redis-server on a free loopback port, never the machine's shared Redis.
let fileRedis: Promise<RedisServerHandle> | undefined

export async function tempDir (t: Test, prefix = 'playfield-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A private redis-server for this test file (started once, stopped when the file ends). */
export async function testRedis (): Promise<RedisServerHandle> {
  fileRedis ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'playfield-redis-'))
    const handle = await startRedisServer({ dir, aof: false })
    tap.teardown(async () => {
      await handle.stop()
      await rm(dir, { recursive: true, force: true })
    })
    return handle
  })()
  return await fileRedis
}

/**
 * `PLAYFIELD_TEST_REDIS=cluster` runs a test file against a private Redis Cluster (3 masters + 3 replicas)
 * instead of a single redis-server: `npm run test:cluster` runs the Redis-touching files that way.
 */
export const ON_CLUSTER = process.env.PLAYFIELD_TEST_REDIS === 'cluster'
let fileCluster: Promise<RedisClusterHandle> | undefined

/** A private Redis Cluster for this test file (started once, stopped when the file ends). */
export async function testCluster (): Promise<RedisClusterHandle> {
  fileCluster ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'playfield-cluster-'))
    const handle = await startRedisCluster(dir)
    tap.teardown(async () => {
      await handle.stop()
      await rm(dir, { recursive: true, force: true })
    })
    return handle
  })()
  return await fileCluster
}

// Tests run many files at once on a small machine, and on clusters that fail over: a command gives up only after
// 10 s here (the default is 2 s). test/security/timeouts.test.ts proves the timeout with its own, short value.
const TEST_COMMAND_TIMEOUT_MS = '10000'

/** The Redis settings of this file's private Redis: REDIS_URL, or REDIS_CLUSTER_NODES on the cluster run. */
export async function testRedisEnv ():
Promise<{ REDIS_URL?: string, REDIS_CLUSTER_NODES?: string, REDIS_COMMAND_TIMEOUT_MS: string }> {
  const where = ON_CLUSTER
    ? { REDIS_CLUSTER_NODES: (await testCluster()).addresses }
    : { REDIS_URL: (await testRedis()).url }
  return { ...where, REDIS_COMMAND_TIMEOUT_MS: TEST_COMMAND_TIMEOUT_MS }
}

/** A client of this file's private Redis (one node or the cluster) for assertions; closed when the test ends. */
export async function redisClient (t: Test): Promise<RedisClient> {
  const client = ON_CLUSTER ? (await testCluster()).client() : new Redis((await testRedis()).url)
  t.teardown(() => client.disconnect())
  return client
}

/** Every key matching `pattern` on every master (SCAN per node: a cluster has no global keyspace). */
export async function allKeys (redis: RedisClient, pattern = '*'): Promise<string[]> {
  // A new cluster client knows its nodes only once connected.
  if (redis instanceof Cluster && redis.status !== 'ready') await redis.ping()
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
  const out: string[] = []
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      out.push(...keys)
    } while (cursor !== '0')
  }
  return out.sort()
}

/** A redis-server owned by one test (for tests that stop and restart it). */
export async function privateRedis (t: Test, opts: { aof?: boolean } = {}): Promise<RedisServerHandle> {
  const dir = await tempDir(t, 'playfield-redis-')
  const handle = await startRedisServer({ dir, aof: opts.aof ?? false })
  t.teardown(() => handle.stop())
  return handle
}

/** Test configuration: the private Redis, free ports, quiet logs, test secrets; overrides win. */
export async function testConfig (overrides: Record<string, string | undefined> = {}): Promise<Config> {
  const redisEnv = 'REDIS_URL' in overrides || 'REDIS_CLUSTER_NODES' in overrides ? {} : await testRedisEnv()
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    HEALTH_CHECK_INTERVAL_MS: '100',
    // Tests run many files in parallel on a small machine: load shedding would turn that into random 503s.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    REDIS_COMMAND_TIMEOUT_MS: TEST_COMMAND_TIMEOUT_MS,
    SHUTDOWN_TIMEOUT_MS: '5000',
    JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789',
    ADS_SIGNING_SECRET: 'test-ads-signing-secret',
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'admin-password',
    ...redisEnv,
    ...overrides
  })
}

export interface BuildOptions {
  config?: Record<string, string | undefined>
  clock?: Clock
  role?: AppOptions['role']
  /** Call ready() (binds gRPC on a free port). Default true; false lets a test add routes first. */
  ready?: boolean
}

/** Builds the app exactly as src/server.ts does, with test config, and closes it when the test ends. */
export async function build (t: Test, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const config = await testConfig(opts.config)
  const fastify = Fastify(options(config))
  t.teardown(() => fastify.close())
  await fastify.register(app, { config, clock: opts.clock, role: opts.role })
  if (opts.ready ?? true) await fastify.ready()
  return fastify
}

/** A gRPC client on the app's bound port, closed when the test ends. */
export function grpcClient<C extends Client> (t: Test, fastify: FastifyInstance, Ctor: ServiceClientConstructor,
  creds: ChannelCredentials = credentials.createInsecure(), channelOptions: Record<string, unknown> = {}): C {
  const client = new Ctor(`127.0.0.1:${fastify.grpc.port}`, creds, channelOptions) as unknown as C
  t.teardown(() => client.close())
  return client
}

/** A deadline a few seconds out: clients always pass one. */
export const deadline = (ms = 5000) => new Date(Date.now() + ms)
