import type { Redis } from 'ioredis'
import { perKey } from '../infra/gather.js'
import { defineScripts, type RedisClient } from '../infra/lua.js'
import { SNAPSHOT, UPSERT } from './scripts.js'

// Users are sharded by their normalised email into SHARDS shards; a shard is one hash tag, the unit of atomicity:
//   users:{sh:<k>}:u:<email>     string: the record as JSON (fixed field order)
//   users:{sh:<k>}:index         sorted set of the shard's normalised emails, all with score 0 (lexicographic paging
//                                gives a stable cursor)
//   users:{sh:<k>}:ver           hash: normalised email → version of the stored record (see UPSERT in scripts.ts)
//   users:{sh:<k>}:stats         hash: upsert counters inserted, updated, unchanged of the shard
//   users:{sh:<k>}:snap:<id>     sorted set: the shard's index as copied when export <id> started (expires on its
//                                own if the export dies)
// k = shardOf(email): FNV-1a (32 bit) of the email's UTF-8 bytes modulo SHARDS. The tag comes before the email, so
// an email holding braces can't change it. SHARDS is part of the data layout: changing it moves users to other
// keys and needs a migration like migrateLegacy below.
//
// Multi-key operations, each inside one shard (one tag, one slot):
//   UPSERT    the shard's index + stats + ver + the user keys of its part of a batch   (upsert)
//   SNAPSHOT  ZUNIONSTORE the shard's snapshot from its index, then EXPIRE            (snapshot)
//   MGET      the user keys of one shard listed on a page                            (page, pages)
// Operations over all shards send one command per shard, all in one round:
//   upsert    a job batch is split by shard and applied by one UPSERT per shard, the calls sent at once (each to its
//             shard's master; measured on one Redis, an ioredis pipeline of them costs the app more CPU). Nothing is
//             atomic across shards, and nothing needs to be: a reader sees each user's record whole or not at all,
//             and a batch is no unit a reader can observe. A crash between shards leaves the job unacknowledged;
//             its re-run (at least once) finds the shards already applied unchanged (versions stop an older record
//             from coming back).
// Reads over all shards, and the (idempotent) snapshot, go through perKey (one pipeline per node):
//   page      one ZRANGEBYLEX per shard from the cursor (about twice its share of the page; a shard that runs dry
//             is read again), merged in Redis' byte order, then one MGET per shard: the cursor (the last email of a
//             page) means the same as with one index.
//   pages     the export's stream over a snapshot: the same merge, every shard topped up in one round when it runs
//             low, one MGET per shard per page.
//   count, stats   ZCARD / HMGET per shard, summed.
//   snapshot  one SNAPSHOT per shard in one round: each shard is copied at one instant, all within that round.

export const SHARDS = 16
const SNAPSHOT_TTL_S = 3600

/** The shard of a normalised email: FNV-1a of its UTF-8 bytes, modulo SHARDS. */
export function shardOf (normalisedEmail: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < normalisedEmail.length; i++) {
    const c = normalisedEmail.charCodeAt(i)
    // An ASCII character is its own UTF-8 byte; the rare other email is encoded first (ingest hashes every record).
    if (c >= 0x80) return fnv1a(Buffer.from(normalisedEmail))
    h = Math.imul(h ^ c, 0x01000193)
  }
  return (h >>> 0) % SHARDS
}

function fnv1a (bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return (h >>> 0) % SHARDS
}

const tag = (shard: number) => `users:{sh:${shard}}`
export const indexKey = (shard: number) => `${tag(shard)}:index`
export const statsKey = (shard: number) => `${tag(shard)}:stats`
export const versionsKey = (shard: number) => `${tag(shard)}:ver`
const recordKey = (shard: number, normalisedEmail: string) => `${tag(shard)}:u:${normalisedEmail}`
export const userKey = (normalisedEmail: string) => recordKey(shardOf(normalisedEmail), normalisedEmail)
export const snapshotKey = (shard: number, exportId: string) => `${tag(shard)}:snap:${exportId}`
const ALL = Array.from({ length: SHARDS }, (_, k) => k)

export interface UpsertCounts { inserted: number, updated: number, unchanged: number }
/** The users at the start of an export: one copy of the index per shard. */
export interface Snapshot { id: string, count: number }
export interface Page { keys: string[], values: string[] }

// Redis orders members by their bytes (UTF-8, i.e. by code point); JavaScript compares UTF-16 code units, which
// differs only where a surrogate meets a code unit of U+E000..U+FFFF. Shifting those two ranges past each other
// makes a plain code-unit comparison agree with Redis.
const codePointOrder = (c: number) => c < 0xd800 ? c : c >= 0xe000 ? c - 0x800 : c + 0x2000
function before (a: string, b: string): boolean {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointOrder(x) < codePointOrder(y)
  }
  return a.length < b.length
}

/** One shard's sorted emails, read chunk by chunk from a cursor. */
interface Run { key: string, items: string[], pos: number, last: string | undefined, done: boolean }

/** Takes up to `limit` emails in order from the runs, stopping where a run not yet done has nothing buffered. */
function merge (runs: Run[], limit: number, out: string[]): void {
  while (out.length < limit) {
    let min: Run | undefined
    for (const r of runs) {
      if (r.pos < r.items.length) {
        if (!min || before(r.items[r.pos]!, min.items[min.pos]!)) min = r
      } else if (!r.done) return
    }
    if (!min) return
    out.push(min.items[min.pos++]!)
  }
}

export function createUsersStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'users', { upsert: UPSERT, snapshot: SNAPSHOT })

  /** Refills the given runs from their cursors in one round: up to `chunk` more emails each. */
  async function refill (runs: Run[], chunk: number): Promise<void> {
    const got = await perKey<string[]>(redis, runs.map(r => r.key), (p, key, i) => {
      const last = runs[i]!.last
      p.zrangebylex(key, last === undefined ? '-' : `(${last}`, '+', 'LIMIT', 0, chunk)
    })
    runs.forEach((r, i) => {
      const items = got[i]!
      r.items = r.pos < r.items.length ? r.items.slice(r.pos).concat(items) : items
      r.pos = 0
      if (items.length > 0) r.last = items[items.length - 1]
      if (items.length < chunk) r.done = true
    })
  }

  /** The records of `emails`, in their order: one MGET per shard, in one round. */
  async function records (emails: string[]): Promise<Page> {
    const byShard = new Map<number, string[]>()
    for (const e of emails) {
      const k = shardOf(e)
      let list = byShard.get(k)
      if (!list) byShard.set(k, (list = []))
      list.push(e)
    }
    const groups = [...byShard.entries()]
    const replies = await perKey<Array<string | null>>(redis, groups.map(([k]) => indexKey(k)),
      (p, _key, i) => {
        const [k, list] = groups[i]!
        p.mget(list.map(e => recordKey(k, e)))
      })
    const found = new Map<string, string>()
    groups.forEach(([, list], i) => list.forEach((e, j) => {
      const v = replies[i]![j]
      if (v) found.set(e, v)
    }))
    // A key listed in an index always has a record (both are written by one script); filter defensively.
    const out: Page = { keys: [], values: [] }
    for (const e of emails) {
      const v = found.get(e)
      if (v) { out.keys.push(e); out.values.push(v) }
    }
    return out
  }

  const runsOf = (keyOf: (shard: number) => string, after: string | undefined): Run[] =>
    ALL.map(k => ({ key: keyOf(k), items: [], pos: 0, last: after, done: false }))

  return {
    /**
     * Upserts records keyed by normalised email; the last value for a key within one batch wins, and with a
     * `version` (the batch's base version, record i having version + i) an older record never replaces a newer one.
     */
    async upsert (items: Array<{ key: string, json: string }>, version?: number): Promise<UpsertCounts> {
      // Per shard: values, emails and versions (record i of the batch keeps version + i wherever it lands).
      const byShard = new Map<number, { keys: string[], values: string[], emails: string[], versions: string[] }>()
      items.forEach((item, i) => {
        const k = shardOf(item.key)
        let part = byShard.get(k)
        if (!part) {
          part = { keys: [indexKey(k), statsKey(k), versionsKey(k)], values: [], emails: [], versions: [] }
          byShard.set(k, part)
        }
        part.keys.push(recordKey(k, item.key))
        part.values.push(item.json)
        part.emails.push(item.key)
        if (version !== undefined) part.versions.push(String(version + i))
      })
      const replies = await Promise.all([...byShard.values()].map(part =>
        scripts.upsert(part.keys, [...part.values, ...part.emails, ...part.versions])))
      const out = { inserted: 0, updated: 0, unchanged: 0 }
      for (const [inserted, updated, unchanged] of replies as Array<[number, number, number]>) {
        out.inserted += inserted
        out.updated += updated
        out.unchanged += unchanged
      }
      return out
    },

    async get (normalisedEmail: string): Promise<string | null> {
      return await redis.get(userKey(normalisedEmail))
    },

    /** Up to `limit` records after `after` (exclusive) in email order, the shards' indexes merged. */
    async page (after: string | undefined, limit: number): Promise<Page> {
      const runs = runsOf(indexKey, after)
      // Twice a shard's share of the page and a little more: the emails of a page are spread evenly over the shards
      // (a hash), so one round nearly always suffices; a shard that runs dry early is read again.
      const chunk = Math.min(limit, Math.ceil(2 * limit / SHARDS) + 4)
      const emails: string[] = []
      for (let low = runs; low.length > 0; low = runs.filter(r => !r.done && r.pos === r.items.length)) {
        await refill(low, chunk)
        merge(runs, limit, emails)
        if (emails.length === limit) break
      }
      return emails.length === 0 ? { keys: [], values: [] } : await records(emails)
    },

    /**
     * Every record of a snapshot in email order, `size` at a time. Each shard is read `size` emails at a time;
     * a round tops up every shard running low, so a page costs about one round for the emails and one for the
     * records, and memory stays at most `size` emails per shard plus one page of records.
     */
    async * pages (snapshot: Snapshot, size: number): AsyncGenerator<Page> {
      const runs = runsOf(k => snapshotKey(k, snapshot.id), undefined)
      let emails: string[] = []
      for (;;) {
        const low = runs.filter(r => !r.done && r.items.length - r.pos < size / 2)
        if (low.length > 0) await refill(low, size)
        merge(runs, size, emails)
        const finished = runs.every(r => r.done && r.pos === r.items.length)
        if (emails.length >= size || (finished && emails.length > 0)) {
          yield await records(emails)
          emails = []
        }
        if (finished) return
      }
    },

    /** Copies every shard's index (one script per shard, in one round), so an export lists a fixed set of users. */
    async snapshot (id: string): Promise<Snapshot> {
      const counts = await perKey<number>(redis, ALL.map(indexKey), (p, key, k) => {
        scripts.snapshot.queue(p, [key, snapshotKey(k, id)], [SNAPSHOT_TTL_S])
      })
      return { id, count: counts.reduce((a, b) => a + b, 0) }
    },

    async dropSnapshot (snapshot: Snapshot): Promise<void> {
      await perKey(redis, ALL.map(k => snapshotKey(k, snapshot.id)), (p, key) => { p.del(key) })
    },

    async count (): Promise<number> {
      const sizes = await perKey<number>(redis, ALL.map(indexKey), (p, key) => { p.zcard(key) })
      return sizes.reduce((a, b) => a + b, 0)
    },

    async stats (): Promise<UpsertCounts> {
      const rows = await perKey<Array<string | null>>(redis, ALL.map(statsKey),
        (p, key) => { p.hmget(key, 'inserted', 'updated', 'unchanged') })
      const out = { inserted: 0, updated: 0, unchanged: 0 }
      for (const [inserted, updated, unchanged] of rows) {
        out.inserted += Number(inserted ?? 0)
        out.updated += Number(updated ?? 0)
        out.unchanged += Number(unchanged ?? 0)
      }
      return out
    }
  }
}

export type UsersStore = ReturnType<typeof createUsersStore>

// The single-node layout before shards (no hash tags): users:u:<email>, users:index, users:ver, users:stats,
// users:snap:<id>.
const LEGACY_PREFIX = 'users:u:'
const LEGACY_INDEX = 'users:index'
const LEGACY_VERSIONS = 'users:ver'
const LEGACY_STATS = 'users:stats'
const MIGRATE_BATCH = 500

/**
 * Moves data of the single-node layout before shards into the shards, on that single Redis (`playfield
 * migrate-keys`; the app must not run meanwhile). Each step is one MULTI (cross-slot is fine on one node): a batch
 * of records is renamed into its shards with their index entries and versions, then the old ones are removed, so a
 * crash leaves every user either old or moved, and running it again finishes the job. A user the new version
 * stored already keeps that record (it was written after the upgrade). Returns the number of records moved.
 */
export async function migrateLegacy (redis: Redis): Promise<number> {
  let moved = 0
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${LEGACY_PREFIX}*`, 'COUNT', MIGRATE_BATCH)
    cursor = next
    if (found.length === 0) continue
    const emails = found.map(key => key.slice(LEGACY_PREFIX.length))
    const versions = await redis.hmget(LEGACY_VERSIONS, ...emails)
    const tx = redis.multi()
    emails.forEach((email, i) => {
      const k = shardOf(email)
      tx.renamenx(LEGACY_PREFIX + email, userKey(email))
        .del(LEGACY_PREFIX + email)
        .zadd(indexKey(k), 0, email)
      const version = versions[i]
      if (version !== null && version !== undefined) tx.hsetnx(versionsKey(k), email, version)
    })
    tx.zrem(LEGACY_INDEX, ...emails).hdel(LEGACY_VERSIONS, ...emails)
    const replies = (await tx.exec()) ?? []
    // Every record took four replies or three (with or without a version); its RENAMENX says whether it moved. SCAN
    // may list a key twice: the second RENAMENX finds no key, which only means it moved already.
    let r = 0
    for (let i = 0; i < emails.length; i++) {
      const [err, renamed] = replies[r]!
      if (err && !/no such key/i.test(err.message)) throw err
      if (renamed === 1) moved++
      r += versions[i] === null || versions[i] === undefined ? 3 : 4
    }
    for (const [err] of replies.slice(r)) if (err) throw err
  } while (cursor !== '0')

  // The totals go to shard 0 (stats are only ever summed); moved and removed in one step, so they count once.
  const stats = await redis.hgetall(LEGACY_STATS)
  const tx = redis.multi()
  for (const [field, n] of Object.entries(stats)) tx.hincrby(statsKey(0), field, Number(n))
  // What is left of the old index and versions belongs to no record; snapshots belong to exports of the old version.
  tx.del(LEGACY_STATS, LEGACY_INDEX, LEGACY_VERSIONS)
  await tx.exec()
  let snapCursor = '0'
  do {
    const [next, snaps] = await redis.scan(snapCursor, 'MATCH', 'users:snap:*', 'COUNT', 1000)
    snapCursor = next
    if (snaps.length > 0) await redis.del(...snaps)
  } while (snapCursor !== '0')
  return moved
}
