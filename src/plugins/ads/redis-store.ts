import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

// Counters: ads:user:<username> and ads:sdk:<version>, hashes with fields ad_requests, impressions, no_fills.
// Users and SDK versions are separate key spaces, so user "1.0" never touches SDK "1.0".
// ads:imp:<ad serving id> remembers a signed impression that was already counted.
//
// Each count is one EVALSHA: one round trip, both hashes updated atomically (HINCRBY is exact under any
// concurrency). The keys of one call live in different slots, so this store assumes a single Redis (or
// primary), which is what the platform runs on.

export const userKey = (username: string) => `ads:user:${username}`
export const sdkKey = (version: string) => `ads:sdk:${version}`
export const impressionKey = (adServingId: string) => `ads:imp:${adServingId}`

export interface AdCounts { impressions: number, ad_requests: number, no_fills: number }

const INCREMENT = `
for i = 1, #KEYS do
  for j = 1, #ARGV do redis.call('HINCRBY', KEYS[i], ARGV[j], 1) end
end
return 1`

const IMPRESSION_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], 'impressions', 1)
  redis.call('HINCRBY', KEYS[3], 'impressions', 1)
  return 1
end
return 0`

type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>

function script (redis: Redis, source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex')
  return (keys, args) => redis.evalsha(sha, keys.length, ...keys, ...args).catch((err: Error) => {
    // The script cache is empty after a Redis restart: EVAL loads it again (and answers this call).
    if (err.message.startsWith('NOSCRIPT')) return redis.eval(source, keys.length, ...keys, ...args)
    throw err
  })
}

export function createAdsStore (redis: Redis) {
  const increment = script(redis, INCREMENT)
  const impressionOnce = script(redis, IMPRESSION_ONCE)

  return {
    async countAdRequest (username: string, sdkVersion: string, noFill: boolean): Promise<void> {
      await increment([userKey(username), sdkKey(sdkVersion)], noFill ? ['ad_requests', 'no_fills'] : ['ad_requests'])
    },

    async countImpression (username: string, sdkVersion: string): Promise<void> {
      await increment([userKey(username), sdkKey(sdkVersion)], ['impressions'])
    },

    /** Counts the impression unless this ad serving id was counted already; true when it counted. */
    async countImpressionOnce (username: string, sdkVersion: string, adServingId: string, ttlSec: number) {
      const keys = [impressionKey(adServingId), userKey(username), sdkKey(sdkVersion)]
      const counted = await impressionOnce(keys, [ttlSec])
      return counted === 1
    },

    /** The counters of one key, or undefined when nothing was ever counted for it. */
    async counts (key: string): Promise<AdCounts | undefined> {
      const [impressions, adRequests, noFills] = await redis.hmget(key, 'impressions', 'ad_requests', 'no_fills')
      if (impressions === null && adRequests === null && noFills === null) return undefined
      return {
        impressions: Number(impressions ?? 0),
        ad_requests: Number(adRequests ?? 0),
        no_fills: Number(noFills ?? 0)
      }
    }
  }
}

export type AdsStore = ReturnType<typeof createAdsStore>
