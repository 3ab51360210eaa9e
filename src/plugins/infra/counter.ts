import { defineScripts, type RedisClient } from './lua.js'

// The one rate counter of the app: a fixed window in Redis, started by the first hit. @fastify/rate-limit uses it
// as its store for REST routes (RateLimitStore below) and the accounts domain uses it for the login limits of every
// door (REST Basic, the dashboard, gRPC AuthenticateUser), so REST and gRPC are counted the same way and every
// replica shares the counts. Callers name the key (one key per counter, so it works on a Redis Cluster as is).

const HIT = `local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`

export interface Hit { current: number, ttl: number }

export function createCounter (redis: RedisClient) {
  const scripts = defineScripts(redis, 'counter', { hit: HIT })
  return {
    /** Counts one hit on `key` in its window (started now if none runs); the count so far and ms left. */
    async hit (key: string, windowMs: number): Promise<Hit> {
      const [current, ttl] = await scripts.hit([key], [windowMs]) as [number, number]
      return { current, ttl }
    }
  }
}

/**
 * A @fastify/rate-limit store on the shared counter. Keys: `<nameSpace>{<route>:<client key>}`, one hash tag per
 * counter (a route's counters spread over a cluster's masters).
 */
export function rateLimitStore (redis: RedisClient, nameSpace: string) {
  const counter = createCounter(redis)
  type Callback = (err: Error | null, res?: Hit) => void
  class RateLimitStore {
    constructor (readonly route = '') {}
    incr (key: string, cb: Callback, timeWindow: number) {
      counter.hit(`${nameSpace}{${this.route}${key}}`, timeWindow).then(res => cb(null, res), err => cb(err as Error))
    }

    child (opts: { routeInfo: { method?: string, url?: string } }) {
      return new RateLimitStore(`${opts.routeInfo.method ?? ''}${opts.routeInfo.url ?? ''}:`)
    }
  }
  return RateLimitStore
}
