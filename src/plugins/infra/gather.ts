import { Cluster, type ChainableCommander } from 'ioredis'
import type { RedisClient } from './lua.js'

// Reads that gather many keys of many slots (statistics, the sessions window, listings across shards) send one
// pipeline per node, never one round trip per key. On one Redis that is the client's auto-pipeline (the commands
// of a tick, of all requests, in one write); on a Redis Cluster the keys are grouped by the master that serves
// their slot (ioredis refuses a pipeline that spans nodes), one explicit pipeline each.

/** The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag (or the whole key) modulo 16384. */
export function keySlot (key: string): number {
  let s = key.indexOf('{')
  if (s >= 0) {
    const e = key.indexOf('}', s + 1)
    if (e > s + 1) key = key.slice(s + 1, e)
  }
  let crc = 0
  const bytes = Buffer.from(key)
  for (s = 0; s < bytes.length; s++) {
    crc ^= bytes[s]! << 8
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc & 16383
}

/**
 * Queues exactly one command per key (`queue(pipeline, key, index)`) and returns the replies in the order of `keys`:
 * one pipeline per node. A reply error is thrown. Meant for reads and idempotent writes: while a cluster
 * reshapes (failover) a round can fail as a whole and is tried again, up to 3 times.
 */
export async function perKey<T = unknown> (redis: RedisClient, keys: readonly string[],
  queue: (pipeline: ChainableCommander, key: string, index: number) => void): Promise<T[]> {
  if (keys.length === 0) return []
  for (let attempt = 1; ; attempt++) {
    try {
      return await gatherOnce<T>(redis, keys, queue)
    } catch (err) {
      if (attempt >= 3 || !(redis instanceof Cluster) || !retryable(err as Error)) throw err
      await new Promise(resolve => setTimeout(resolve, 200 * attempt))
    }
  }
}

const RETRYABLE = /MOVED|ASK|CLUSTERDOWN|TRYAGAIN|same slots allocation group|Connection is closed|ECONNREFUSED/
const retryable = (err: Error) => RETRYABLE.test(err.message)

async function gatherOnce<T> (redis: RedisClient, keys: readonly string[],
  queue: (pipeline: ChainableCommander, key: string, index: number) => void): Promise<T[]> {
  if (!(redis instanceof Cluster) && redis.options.enableAutoPipelining) {
    // One Redis whose client auto-pipelines: the commands are sent as plain calls, so they leave in one socket write
    // together with every other request's commands of this tick. An explicit pipeline is a write of its own per
    // call: profiled as the largest single cost of POST /put_events (BENCHMARKS.md). Same replies, same order.
    const replies: Array<Promise<unknown>> = []
    const client = redis as unknown as Record<string | symbol, (...args: unknown[]) => Promise<unknown>>
    const direct: ChainableCommander = new Proxy({} as ChainableCommander, {
      get: (_target, name) => (...args: unknown[]) => {
        replies.push(client[name]!(...args))
        return direct
      }
    })
    for (let i = 0; i < keys.length; i++) queue(direct, keys[i]!, i)
    return await Promise.all(replies) as T[]
  }
  const groups = new Map<string, number[]>()
  if (redis instanceof Cluster) {
    for (let i = 0; i < keys.length; i++) {
      const slot = keySlot(keys[i]!)
      // Before the slot map is known, a slot is its own group (still correct, just more pipelines).
      const node = redis.slots[slot]?.[0] ?? `slot:${slot}`
      let group = groups.get(node)
      if (!group) groups.set(node, (group = []))
      group.push(i)
    }
  } else {
    groups.set('', keys.map((_k, i) => i))
  }
  const out = new Array<T>(keys.length)
  await Promise.all([...groups.values()].map(async (indexes) => {
    const pipeline = redis.pipeline()
    for (const i of indexes) queue(pipeline, keys[i]!, i)
    const replies = (await pipeline.exec()) ?? []
    replies.forEach(([err, value], k) => {
      if (err) throw err
      out[indexes[k]!] = value as T
    })
  }))
  return out
}
