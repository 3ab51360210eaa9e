import type { Redis } from 'ioredis'

// Keys: users:u:<normalised email> → the record as JSON (fixed field order), users:index → ZSET of normalised
// emails all with score 0 (lexicographic paging gives a stable cursor), users:stats → HASH of upsert counters,
// users:snap:<id> → a copy of the index taken when an export starts (expires on its own if the export dies),
// users:ver → HASH normalised email → version of the stored record (see UPSERT).
// In a Redis Cluster these keys would need one hash tag; the platform runs a single Redis.

export const INDEX_KEY = 'users:index'
export const STATS_KEY = 'users:stats'
export const VERSIONS_KEY = 'users:ver'
export const userKey = (normalisedEmail: string) => `users:u:${normalisedEmail}`
const SNAPSHOT_TTL_S = 3600

// One script per job batch, so a batch is applied all-or-nothing: a worker killed mid-job either applied
// the whole batch or none of it, and the re-run after the stalled check finds every record unchanged.
// KEYS: 1 index, 2 stats, 3 versions, 4.. user keys. ARGV: n values, n emails, then the batch's base version
// ('' = unversioned). Record i of a batch has version base + i: a record older than the one stored (a batch
// retried late, or applied by another worker after a newer one) leaves it alone and counts as unchanged.
const UPSERT = `
local inserted, updated, unchanged = 0, 0, 0
local n = (#ARGV - 1) / 2
local base = tonumber(ARGV[#ARGV])
for i = 1, n do
  local key = KEYS[i + 3]
  local value = ARGV[i]
  local email = ARGV[n + i]
  local stale = false
  if base then
    local version = base + i - 1
    local current = tonumber(redis.call('HGET', KEYS[3], email))
    if current and current > version then
      stale = true
    else
      redis.call('HSET', KEYS[3], email, version)
    end
  end
  local old = redis.call('GET', key)
  if stale or old == value then
    unchanged = unchanged + 1
  else
    redis.call('SET', key, value)
    if old then
      updated = updated + 1
    else
      inserted = inserted + 1
      redis.call('ZADD', KEYS[1], 0, email)
    end
  end
end
if inserted > 0 then redis.call('HINCRBY', KEYS[2], 'inserted', inserted) end
if updated > 0 then redis.call('HINCRBY', KEYS[2], 'updated', updated) end
if unchanged > 0 then redis.call('HINCRBY', KEYS[2], 'unchanged', unchanged) end
return { inserted, updated, unchanged }
`

export interface UpsertCounts { inserted: number, updated: number, unchanged: number }

type WithUpsert = Redis & { usersUpsert (numKeys: number, ...args: string[]): Promise<[number, number, number]> }

export function createUsersStore (redis: Redis) {
  const r = redis as WithUpsert
  if (typeof r.usersUpsert !== 'function') redis.defineCommand('usersUpsert', { lua: UPSERT })

  return {
    /**
     * Upserts records keyed by normalised email; the last value for a key within one batch wins, and with a
     * `version` (the batch's base version, record i having version + i) an older record never replaces a newer one.
     */
    async upsert (items: Array<{ key: string, json: string }>, version?: number): Promise<UpsertCounts> {
      if (items.length === 0) return { inserted: 0, updated: 0, unchanged: 0 }
      const keys = [INDEX_KEY, STATS_KEY, VERSIONS_KEY, ...items.map(i => userKey(i.key))]
      const args = [...items.map(i => i.json), ...items.map(i => i.key), version === undefined ? '' : String(version)]
      const [inserted, updated, unchanged] = await r.usersUpsert(keys.length, ...keys, ...args)
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
      const key = `users:snap:${id}`
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
