import { defineScripts, type RedisClient } from '../infra/lua.js'
import { UPSERT } from './scripts.js'

// Keys (no hash tags yet):
//   users:u:<normalised email>  string: the record as JSON (fixed field order)
//   users:index                 sorted set of normalised emails, all with score 0 (lexicographic paging gives a
//                               stable cursor)
//   users:stats                 hash: upsert counters inserted, updated, unchanged
//   users:ver                   hash: normalised email → version of the stored record (see UPSERT in scripts.ts)
//   users:snap:<export id>      sorted set: a copy of the index taken when an export starts (expires on its own
//                               if the export dies)
//
// Multi-key operations (their keys span slots today; in a Redis Cluster they would need one hash tag, and the
// platform runs a single Redis):
//   UPSERT  users:index + users:stats + users:ver + every users:u:<email> of the batch   (upsert)
//   MGET    the users:u:<email> of one page, listed by users:index or a users:snap:<id>  (page)
//   MULTI   ZUNIONSTORE users:snap:<id> from users:index, then EXPIRE                    (snapshot)

export const INDEX_KEY = 'users:index'
export const STATS_KEY = 'users:stats'
export const VERSIONS_KEY = 'users:ver'
export const userKey = (normalisedEmail: string) => `users:u:${normalisedEmail}`
export const snapshotKey = (exportId: string) => `users:snap:${exportId}`
const SNAPSHOT_TTL_S = 3600

export interface UpsertCounts { inserted: number, updated: number, unchanged: number }

export function createUsersStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'users', { upsert: UPSERT })

  return {
    /**
     * Upserts records keyed by normalised email; the last value for a key within one batch wins, and with a
     * `version` (the batch's base version, record i having version + i) an older record never replaces a newer one.
     */
    async upsert (items: Array<{ key: string, json: string }>, version?: number): Promise<UpsertCounts> {
      if (items.length === 0) return { inserted: 0, updated: 0, unchanged: 0 }
      const keys = [INDEX_KEY, STATS_KEY, VERSIONS_KEY, ...items.map(i => userKey(i.key))]
      const args = [...items.map(i => i.json), ...items.map(i => i.key), version === undefined ? '' : String(version)]
      const [inserted, updated, unchanged] = await scripts.upsert(keys, args) as [number, number, number]
      return { inserted, updated, unchanged }
    },

    async get (normalisedEmail: string): Promise<string | null> {
      return await redis.get(userKey(normalisedEmail))
    },

    /** Up to `limit` records after `after` (exclusive) in email order, from `index` (the live index by default). */
    async page (after: string | undefined, limit: number, index = INDEX_KEY):
    Promise<{ keys: string[], values: string[] }> {
      const keys = await redis.zrangebylex(index, after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, limit)
      if (keys.length === 0) return { keys, values: [] }
      const raw = await redis.mget(keys.map(userKey))
      // A key listed in the index always has a record (both are written by one script); filter defensively.
      const out = { keys: [] as string[], values: [] as string[] }
      keys.forEach((k, i) => {
        const v = raw[i]
        if (v) { out.keys.push(k); out.values.push(v) }
      })
      return out
    },

    /** Copies the index in one command, so an export lists exactly the users stored at that instant. */
    async snapshot (id: string): Promise<{ key: string, count: number }> {
      const key = snapshotKey(id)
      const [[, count]] = await redis.multi()
        .zunionstore(key, 1, INDEX_KEY)
        .expire(key, SNAPSHOT_TTL_S)
        .exec() as [[Error | null, number]]
      return { key, count }
    },

    async dropSnapshot (key: string): Promise<void> { await redis.del(key) },

    async count (): Promise<number> { return await redis.zcard(INDEX_KEY) },

    async stats (): Promise<UpsertCounts> {
      const h = await redis.hgetall(STATS_KEY)
      return { inserted: Number(h.inserted ?? 0), updated: Number(h.updated ?? 0), unchanged: Number(h.unchanged ?? 0) }
    }
  }
}

export type UsersStore = ReturnType<typeof createUsersStore>
