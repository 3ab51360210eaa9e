import type { ChainableCommander, Cluster, Redis } from 'ioredis'

// The one way every domain loads its Lua: ioredis `defineCommand`, which sends EVALSHA and falls back to EVAL
// on NOSCRIPT (a restarted or failed-over Redis has an empty script cache). It works the same on a single
// Redis and on a Redis Cluster, where ioredis routes the call by the slot of its first key — so a script must
// name every key it touches in KEYS, and those keys must share one hash tag.

/** A connection to Redis: one node or a Redis Cluster. Stores are written against this, never against `Redis`. */
export type RedisClient = Redis | Cluster

export type Reply = string | number | null | Reply[]

/** Runs one script: `keys` go to KEYS, `args` to ARGV. */
export interface Script<R = Reply> {
  (keys: readonly string[], args?: ReadonlyArray<string | number>): Promise<R>
  /** Queues the same call on a pipeline or MULTI (its reply arrives with the others). */
  queue (pipeline: ChainableCommander, keys: readonly string[], args?: ReadonlyArray<string | number>): void
}

type Callable = Record<string, (...args: Array<string | number>) => Promise<unknown>>

/**
 * Defines the scripts of one domain on a client and returns a callable per script. Command names are
 * `<domain>:<name>`, so two domains can never collide; defining twice on the same client is harmless.
 */
export function defineScripts<N extends string> (redis: RedisClient, domain: string, sources: Record<N, string>):
Record<N, Script> {
  const out = {} as Record<N, Script>
  for (const name of Object.keys(sources) as N[]) {
    const command = `${domain}:${name}`
    if (typeof (redis as unknown as Callable)[command] !== 'function') redis.defineCommand(command, { lua: sources[name] })
    const run = ((keys, args = []) =>
      (redis as unknown as Callable)[command]!(keys.length, ...keys, ...args)) as Script
    run.queue = (pipeline, keys, args = []) => {
      (pipeline as unknown as Callable)[command]!(keys.length, ...keys, ...args)
    }
    out[name] = run
  }
  return out
}
