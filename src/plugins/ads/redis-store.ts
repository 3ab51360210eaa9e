import { defineScripts, type RedisClient } from '../infra/lua.js'
import { IMPRESSION_ONCE, INCREMENT } from './scripts.js'

// Keys (no hash tags yet):
//   ads:user:<username>      hash: ad_requests, impressions, no_fills of one username
//   ads:sdk:<version>        hash: the same counters of one SDK version
//   ads:imp:<ad serving id>  string '1' with a TTL: a signed impression that was already counted
// Users and SDK versions are separate key spaces, so user "1.0" never touches SDK "1.0".
//
// Multi-key operations (the keys of each live in different slots today, so this store assumes a single Redis or
// primary, which is what the platform runs on):
//   INCREMENT        ads:user:<u> + ads:sdk:<v>                (countAdRequest, countImpression)
//   IMPRESSION_ONCE  ads:imp:<id> + ads:user:<u> + ads:sdk:<v>  (countImpressionOnce)
// Each count is one script call: one round trip, both hashes updated atomically (HINCRBY is exact under any
// concurrency).

export const userKey = (username: string) => `ads:user:${username}`
export const sdkKey = (version: string) => `ads:sdk:${version}`
export const impressionKey = (adServingId: string) => `ads:imp:${adServingId}`

export interface AdCounts { impressions: number, ad_requests: number, no_fills: number }

export function createAdsStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'ads', { increment: INCREMENT, impressionOnce: IMPRESSION_ONCE })

  async function counts (key: string): Promise<AdCounts | undefined> {
    const [impressions, adRequests, noFills] = await redis.hmget(key, 'impressions', 'ad_requests', 'no_fills')
    if (impressions === null && adRequests === null && noFills === null) return undefined
    return {
      impressions: Number(impressions ?? 0),
      ad_requests: Number(adRequests ?? 0),
      no_fills: Number(noFills ?? 0)
    }
  }

  return {
    async countAdRequest (username: string, sdkVersion: string, noFill: boolean): Promise<void> {
      await scripts.increment([userKey(username), sdkKey(sdkVersion)],
        noFill ? ['ad_requests', 'no_fills'] : ['ad_requests'])
    },

    async countImpression (username: string, sdkVersion: string): Promise<void> {
      await scripts.increment([userKey(username), sdkKey(sdkVersion)], ['impressions'])
    },

    /** Counts the impression unless this ad serving id was counted already; true when it counted. */
    async countImpressionOnce (username: string, sdkVersion: string, adServingId: string, ttlSec: number) {
      const keys = [impressionKey(adServingId), userKey(username), sdkKey(sdkVersion)]
      return await scripts.impressionOnce(keys, [ttlSec]) === 1
    },

    /** The counters of one username, or undefined when nothing was ever counted for it. */
    userCounts (username: string): Promise<AdCounts | undefined> { return counts(userKey(username)) },

    /** The counters of one SDK version, or undefined when nothing was ever counted for it. */
    sdkCounts (version: string): Promise<AdCounts | undefined> { return counts(sdkKey(version)) }
  }
}

export type AdsStore = ReturnType<typeof createAdsStore>
