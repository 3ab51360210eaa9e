import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import { endSlotRefresh } from '../../src/plugins/infra/redis.js'
import { findExecutable, startRedisServer, type RedisServerHandle } from '../../src/plugins/infra/redis-server.js'

// A real Redis Cluster on loopback for the tests: 3 masters and 3 replicas, each a private redis-server with
// --cluster-enabled yes on a free port whose bus port (port + 10000) is free too, joined by
// `redis-cli --cluster create … --cluster-replicas 1`. Each node is stopped by its own pid (process group).

const exec = promisify(execFile)

export interface ClusterNode { port: number, server: RedisServerHandle }

export interface RedisClusterHandle {
  readonly nodes: ClusterNode[]
  /** `127.0.0.1:p1,127.0.0.1:p2,…`, the REDIS_CLUSTER_NODES value. */
  readonly addresses: string
  /** A cluster client for assertions (the caller disconnects it). */
  client (): Cluster
  /** Ports of the current masters, from CLUSTER NODES of a live node. */
  masters (): Promise<number[]>
  /** The port of the master serving `key`'s slot. */
  masterOf (key: string): Promise<number>
  /** SIGKILLs one node (a crash: no AOF flush, no goodbye to the cluster). */
  kill (port: number): void
  /** Waits until every live node reports cluster_state:ok and sees `masters` masters. */
  waitOk (timeoutMs?: number): Promise<void>
  stop (): Promise<void>
}

export async function startRedisCluster (dir: string, opts: { masters?: number, nodeTimeoutMs?: number } = {}):
Promise<RedisClusterHandle> {
  const cli = await findExecutable('redis-cli')
  if (!cli) throw new Error('redis-cli not found on PATH (it comes with redis-server: apt-get install redis-server)')
  const masterCount = opts.masters ?? 3
  const nodeTimeout = opts.nodeTimeoutMs ?? 2000
  const servers = await Promise.all(Array.from({ length: masterCount * 2 }, (_, i) => startRedisServer({
    dir: join(dir, `node-${i}`),
    aof: false,
    busPort: true,
    extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(nodeTimeout), '--cluster-replica-validity-factor', '0']
  })))
  const nodes = servers.map(server => ({ port: server.port, server }))
  // Clients made for assertions are disconnected before the nodes stop: a cluster client whose nodes are gone
  // reconnects forever and would keep the test process alive.
  const clients = new Set<Cluster>()
  const stop = async () => {
    for (const c of clients) {
      c.disconnect()
      endSlotRefresh(c)
    }
    await Promise.all(servers.map(s => s.stop()))
  }
  try {
    await exec(cli, ['--cluster', 'create', ...nodes.map(n => `127.0.0.1:${n.port}`),
      '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 })
  } catch (err) {
    await stop()
    throw new Error(`redis-cli --cluster create failed: ${(err as Error).message}`)
  }
  const killed = new Set<number>()
  const live = () => nodes.filter(n => !killed.has(n.port))

  async function info (port: number, ...args: string[]): Promise<string> {
    const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    try {
      await c.connect()
      return String(await c.call('CLUSTER', ...args))
    } finally {
      c.disconnect()
    }
  }

  const handle: RedisClusterHandle = {
    nodes,
    addresses: nodes.map(n => `127.0.0.1:${n.port}`).join(','),
    client () {
      const c = new Cluster(nodes.map(n => ({ host: '127.0.0.1', port: n.port })), {
        slotsRefreshInterval: 1000, retryDelayOnClusterDown: 300, retryDelayOnFailover: 200
      })
      clients.add(c)
      c.once('end', () => {
        clients.delete(c)
        endSlotRefresh(c)
      })
      return c
    },
    async masters () {
      const text = await info(live()[0]!.port, 'NODES')
      return text.split('\n').filter(l => /\bmaster\b/.test(l) && !/\bfail\b/.test(l))
        .map(l => Number(/:(\d+)@/.exec(l)![1])).filter(p => !killed.has(p)).sort((a, b) => a - b)
    },
    async masterOf (key: string) {
      const slot = Number(await info(live()[0]!.port, 'KEYSLOT', key))
      const text = await info(live()[0]!.port, 'NODES')
      for (const line of text.split('\n')) {
        if (!/\bmaster\b/.test(line) || /\bfail\b/.test(line)) continue
        for (const range of line.split(' ').slice(8)) {
          const [lo, hi] = range.split('-').map(Number) as [number, number | undefined]
          if (slot >= lo && slot <= (hi ?? lo)) return Number(/:(\d+)@/.exec(line)![1])
        }
      }
      throw new Error(`no master serves slot ${slot}`)
    },
    kill (port: number) {
      const node = nodes.find(n => n.port === port)
      if (!node?.server.pid) throw new Error(`no node on port ${port}`)
      killed.add(port)
      // The server runs under its watchdog in its own process group: the group is killed, redis-server included.
      process.kill(-node.server.pid, 'SIGKILL')
    },
    async waitOk (timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs
      for (;;) {
        const states = await Promise.all(live().map(n => info(n.port, 'INFO').catch(() => '')))
        const masters = await handle.masters().catch(() => [])
        if (states.every(s => s.includes('cluster_state:ok')) && masters.length === masterCount) return
        if (Date.now() > until) throw new Error(`cluster not ok after ${timeoutMs} ms`)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    },
    stop
  }
  try {
    await handle.waitOk()
  } catch (err) {
    await stop()
    throw err
  }
  return handle
}
