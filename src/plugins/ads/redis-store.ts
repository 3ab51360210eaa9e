import { defineScripts, type RedisClient, type Script } from '../infra/lua.js'
import { IMPRESSION_ONCE, IMPRESSION_PLAIN, INCREMENT } from './scripts.js'

// Keys: one hash tag per counter owner, a username or an SDK version, so owners spread over the masters:
//   ads:{u:<username>}                     hash: ad_requests, impressions, no_fills of one username, TTL
//                                          ADS_COUNTER_TTL_S from its last count (created by an ad request or a
//                                          signed impression of an ad we served, never by a plain impression)
//   ads:{sdk:<version>}                    hash: the same counters of one SDK version, the same TTL
//   ads:{u:<username>}:imp:<serving id>    string '1', TTL ADS_IMPRESSION_TTL_S: this signed impression was
//   ads:{sdk:<version>}:imp:<serving id>   counted for the user / for the SDK version
// `u:` and `sdk:` keep users and SDK versions apart, so user "1.0" never touches SDK "1.0". A username may hold
// braces: the tag then ends at its first `}`, but every key of that user starts with the same `ads:{u:<username>}`
// and so has the same tag; a serving id has no braces, so no two owners' keys can ever be equal.
//
// Multi-key operations: IMPRESSION_ONCE touches one owner's hash and marker (one tag, one slot). Nothing is atomic
// across the two owners of a request, and nothing needs to be: a reader looks at one owner at a time.
//   - ad request, plain impression: INCREMENT (IMPRESSION_PLAIN) per owner, counter and TTL together, by group
//     commit: the counts of one event-loop turn for one owner leave as ONE call that adds them all (HINCRBY by n),
//     and each request is answered only once that call succeeded, so no acknowledged count lives only in this
//     process' memory (a crash before the call loses only unanswered requests, which their clients retry). Hot
//     owners (an SDK version counts for every request of its apps) cost one script per turn, not one per request.
//     Both owners' calls are sent at once (on a cluster each goes to its owner's master); on one Redis the shared
//     client auto-pipelines them into one socket write. If the call fails, every request of the batch fails.
//     Like any counter, a request that fails after an increment reached Redis and is then retried by its client
//     counts that owner again; an SDK retries only failed (5xx) requests.
//   - signed impression: IMPRESSION_ONCE per owner, each idempotent on its own. If one owner's step fails (a
//     crash, a failover), the request fails and the SDK's retry counts the missing owner while the other one's
//     marker stops it from counting twice: each owner counts it exactly once.
// GET /statistics reads one owner's hash (one key, one slot).

export const userKey = (username: string) => `ads:{u:${username}}`
export const sdkKey = (version: string) => `ads:{sdk:${version}}`
export const impressionKey = (ownerKey: string, adServingId: string) => `${ownerKey}:imp:${adServingId}`

/**
 * The new name of a key of the single-node layout before hash tags, for `playfield migrate-keys`: the counter
 * hashes are renamed. The old markers (`ads:imp:<id>`) don't say which user and SDK they counted for, so they stay
 * where they are and expire within ADS_IMPRESSION_TTL_S; until then a signed impression served before the upgrade
 * and replayed after it counts once more.
 */
export function legacyKey (oldKey: string): string | undefined {
  if (oldKey.startsWith('ads:user:')) return userKey(oldKey.slice('ads:user:'.length))
  if (oldKey.startsWith('ads:sdk:')) return sdkKey(oldKey.slice('ads:sdk:'.length))
  return undefined
}

export interface AdCounts { impressions: number, ad_requests: number, no_fills: number }

/**
 * Group commit of counters: `add(script, name, key, fields)` adds 1 to each field in the batch of this event-loop turn
 * for that script (`name`) and key; at the end of the turn (setImmediate) each batch is one script call with ARGV
 * `ttl, field, n, field, n…`, and every add of the batch resolves or rejects with that call.
 */
function counterBatches (ttlSec: number) {
  interface Batch {
    script: Script
    key: string
    fields: Map<string, number>
    waiting: Array<[resolve: () => void, reject: (err: unknown) => void]>
  }
  let batches = new Map<string, Batch>()

  function flush () {
    const due = batches
    batches = new Map()
    for (const batch of due.values()) {
      const args: Array<string | number> = [ttlSec]
      for (const [field, n] of batch.fields) args.push(field, n)
      // A call that throws instead of rejecting must still answer every waiting request.
      let call: Promise<unknown>
      try {
        call = batch.script([batch.key], args)
      } catch (err) {
        call = Promise.reject(err)
      }
      call.then(
        () => { for (const [resolve] of batch.waiting) resolve() },
        (err: unknown) => { for (const [, reject] of batch.waiting) reject(err) })
    }
  }

  return function add (script: Script, name: string, key: string, fields: readonly string[]): Promise<void> {
    if (batches.size === 0) setImmediate(flush)
    const id = `${name}\n${key}`
    let batch = batches.get(id)
    if (!batch) batches.set(id, (batch = { script, key, fields: new Map(), waiting: [] }))
    for (const field of fields) batch.fields.set(field, (batch.fields.get(field) ?? 0) + 1)
    return new Promise((resolve, reject) => { batch.waiting.push([resolve, reject]) })
  }
}

export function createAdsStore (redis: RedisClient, { counterTtlSec }: { counterTtlSec: number }) {
  const scripts = defineScripts(redis, 'ads', {
    increment: INCREMENT, impressionPlain: IMPRESSION_PLAIN, impressionOnce: IMPRESSION_ONCE
  })
  const count = counterBatches(counterTtlSec)
  const AD_REQUEST = ['ad_requests']
  const NO_FILL = ['ad_requests', 'no_fills']
  const IMPRESSION = ['impressions']

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
      const fields = noFill ? NO_FILL : AD_REQUEST
      await Promise.all([
        count(scripts.increment, 'increment', userKey(username), fields),
        count(scripts.increment, 'increment', sdkKey(sdkVersion), fields)
      ])
    },

    /** A plain impression counts for each owner that has counters already (an ad request); it creates none. */
    async countImpression (username: string, sdkVersion: string): Promise<void> {
      await Promise.all([
        count(scripts.impressionPlain, 'impressionPlain', userKey(username), IMPRESSION),
        count(scripts.impressionPlain, 'impressionPlain', sdkKey(sdkVersion), IMPRESSION)
      ])
    },

    /**
     * Counts the impression for the user and for the SDK version unless this ad serving id was counted for them
     * already; true when it counted for at least one of them (a retry that repaired a half-counted one counts).
     */
    async countImpressionOnce (username: string, sdkVersion: string, adServingId: string, ttlSec: number) {
      const counted = await Promise.all([userKey(username), sdkKey(sdkVersion)]
        .map(key => scripts.impressionOnce([key, impressionKey(key, adServingId)], [ttlSec, counterTtlSec])))
      return counted.some(c => c === 1)
    },

    /** The counters of one username, or undefined when nothing was ever counted for it. */
    userCounts (username: string): Promise<AdCounts | undefined> { return counts(userKey(username)) },

    /** The counters of one SDK version, or undefined when nothing was ever counted for it. */
    sdkCounts (version: string): Promise<AdCounts | undefined> { return counts(sdkKey(version)) }
  }
}

export type AdsStore = ReturnType<typeof createAdsStore>
