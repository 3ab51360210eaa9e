import { Cluster, type ChainableCommander } from 'ioredis'
import { defineScripts, type RedisClient, type Script } from '../infra/lua.js'
import { perKey } from '../infra/gather.js'
import { ADD_COUNTRIES, ADD_STARTS, CLAIM, COMPLETE, PAGE_AFTER } from './scripts.js'
import { parseTimestamp } from './timestamps.js'
import {
  REJECT, RETENTION_MS, countryJson, dayOf, expiryMs, startedJson,
  type CompletedSession, type Continue, type CountryPage, type EventOutcome, type SessionEvent, type SessionStore,
  type StartPosition, type StartsJson
} from './store.js'

// Redis layout, hash-tagged for Redis Cluster (every key names its atomic unit in `{…}`):
//   sess:{s:<session_id>}           hash p (player), c (country), s (start µs), e (end µs): the session, source of
//                                   truth; expires at its earliest event + 365 d (the start, once known: starts never
//                                   follow their end)
//   sess:{p:<player_id>}:done       sorted set of completed session ids scored by end µs. Members cannot expire on
//                                   their own, so reads and writes prune them (ZREMRANGEBYSCORE below now - 365 d, and
//                                   any member whose session hash has expired); the key expires with its newest member
//   sess:{d:<day>:<CC>}:starts      sorted set of the starts of one UTC day (days since the epoch) and country, scored
//                                   by start µs; member `<session_id>\n<the session as the window answer lists it>`
//                                   (JSON), so a window answer is the members' text joined, with no per-session work.
//                                   The id in front keeps ties in session id order ('\n' sorts below any id character)
//   sess:{d:<day>}:cc               set of the countries with starts that day (which buckets a window reads)
// Both day keys expire with their newest member (its start + 365 d). Older members of the same day linger until then
// (under a day) and reads never return them: a window never reaches further back than now - 365 d.
// Ids never contain control characters (the service refuses them), so '\n' separates a member safely.
//
// Tags: one per session, per player, per day and country (so the current day's starts spread over as many slots as
// there are countries), and per day for the country set. Every script and command touches one key.
//
// An event spans units, so it is stored in two steps, each atomic on its own slot:
//   1. CLAIM on the session hash (one call for the session's events of the batch, in order): checks and writes each
//      event (accepted / duplicate / refused) and answers the session as stored after it. Claims of one session are
//      serialised there, so of racing copies exactly one is accepted, and whichever half of a session is claimed
//      second sees the first.
//   2. Derived writes from what the claim answered, all idempotent, one call per key and batch: a start goes into its
//      bucket (ADD_STARTS) and its country into the day's set (ADD_COUNTRIES); a session with both halves goes into
//      its player's completed set (COMPLETE). They run for accepted events AND for duplicates: a re-sent event
//      rewrites them from the stored session (same members, same scores, expiries only extended), so a request that
//      failed between 1 and 2 is repaired by the client's retry, as on the Cassandra store. An event is acknowledged
//      only once 2 is done.
//   A reader in between sees the event not yet listed (never half of it): a window's counts and lists both come from
//   the buckets, and a completed entry is read back from its session hash.
// A batch is two rounds, each one pipeline per node. On one Redis that costs about twice the Node CPU per event of the
// single script per batch it replaces (a script may not span the session, player and day slots of a batch).
//
// Reads gathering many slots, one pipeline per node each (perKey):
//   completed       HMGET of the listed session hashes
//   startsBetween   SMEMBERS of the window's day country sets; ZCOUNT of each of their buckets within the window; the
//                   plan (which buckets hold each country's newest `limit` starts) in TypeScript; then one
//                   ZREVRANGEBYSCORE … LIMIT per planned bucket
//   startsPage      ZCOUNT of the country's day buckets within the window (the exact count), and in the same round
//                   PAGE_AFTER on the cursor's bucket (one key): ZREVRANK of the cursor's member and ZREVRANGE from
//                   the next rank, in one step, so starts coming in meanwhile can't shift the page; then
//                   ZREVRANGEBYSCORE … LIMIT in the older buckets. Ranks, not an exclusive score with an offset past
//                   the ties: a page costs O(log n + page) however many starts share the cursor's microsecond
//
// Older layout (one Redis; renamed keys and a day count hash): migrateLegacy() below moves it.

const CODES: Record<string, string> = {
  'other-player': REJECT.otherPlayer,
  'start-after-end': REJECT.startAfterEnd,
  'end-before-start': REJECT.endBeforeStart
}

export const sessionKey = (sessionId: string) => `sess:{s:${sessionId}}`
export const doneKey = (playerId: string) => `sess:{p:${playerId}}:done`
export const dayBucketKey = (day: number, country: string) => `sess:{d:${day}:${country}}:starts`
export const dayCountriesKey = (day: number) => `sess:{d:${day}}:cc`

/** A bucket member is `<session_id>\n<JSON>`: the JSON as the answer lists it. */
const listed = (member: string) => member.slice(member.indexOf('\n') + 1)
/** Where a member sits: the cursor of a page that ends with it (per page, never per listed session). */
function positionOf (member: string): StartPosition {
  const { session_id: sessionId, player_id: playerId, ts } = JSON.parse(listed(member)) as Record<string, string>
  return { sessionId: sessionId!, playerId: playerId!, tsUs: parseTimestamp(ts!)! }
}
const memberOf = (p: StartPosition) => `${p.sessionId}\n${startedJson(p.sessionId, p.playerId, p.tsUs)}`

/** A session as its hash holds it (what a claim answers). */
interface Stored { p: string, c: string | null, s: string | null, e: string | null }

type Claimed = [status: 0 | 1, p: string, c: string | null, s: string | null, e: string | null] | [code: string]

type Scripts = Record<'claim' | 'addStarts' | 'addCountries' | 'complete' | 'pageAfter', Script>

const defineSessionScripts = (redis: RedisClient): Scripts => defineScripts(redis, 'sessions', {
  claim: CLAIM, addStarts: ADD_STARTS, addCountries: ADD_COUNTRIES, complete: COMPLETE, pageAfter: PAGE_AFTER
})

/** The derived writes of a batch, one script call per key whatever the number of its members. */
function derivedWrites (scripts: Scripts, pruneUs: number) {
  const byKey = new Map<string, { script: Script, args: Array<string | number> }>()
  function add (key: string, script: Script, expireAt: number, head: Array<string | number>,
    ...members: Array<string | number>) {
    const write = byKey.get(key)
    if (!write) byKey.set(key, { script, args: [expireAt, ...head, ...members] })
    else {
      write.args[0] = Math.max(write.args[0] as number, expireAt)
      write.args.push(...members)
    }
  }
  return {
    /**
     * A stored session's derived writes: its start's bucket and country (when `withStart`), and its player's
     * completed set once both halves are known. Every one expires with the start, as the session hash does.
     */
    add (sessionId: string, stored: Stored, withStart: boolean) {
      if (stored.s === null) return
      const startUs = Number(stored.s)
      const expireAt = expiryMs(startUs)
      if (withStart && stored.c !== null) {
        const day = dayOf(startUs)
        const member = `${sessionId}\n${startedJson(sessionId, stored.p, startUs)}`
        add(dayBucketKey(day, stored.c), scripts.addStarts, expireAt, [], stored.s, member)
        add(dayCountriesKey(day), scripts.addCountries, expireAt, [], stored.c)
      }
      if (stored.e !== null) add(doneKey(stored.p), scripts.complete, expireAt, [pruneUs], stored.e, sessionId)
    },
    async run (redis: RedisClient) {
      const writes = [...byKey.values()]
      await perKey(redis, [...byKey.keys()], (pipeline, key, i) => {
        writes[i]!.script.queue(pipeline, [key], writes[i]!.args)
      })
    }
  }
}

export function createRedisStore ({ redis }: { redis: RedisClient }): SessionStore {
  const scripts = defineSessionScripts(redis)

  async function putEvents (events: SessionEvent[], nowMs: number): Promise<EventOutcome[]> {
    if (events.length === 0) return []
    // Step 1, one claim per session (its events in batch order). On a cluster a round that fails as a whole while
    // the slots move is sent again: a claim that had been applied then answers "duplicate", and step 2 runs for it
    // all the same.
    const bySession = new Map<string, number[]>()
    events.forEach((e, i) => {
      const list = bySession.get(e.sessionId)
      if (list) list.push(i)
      else bySession.set(e.sessionId, [i])
    })
    const groups = [...bySession.values()]
    const replies = await perKey<Claimed[]>(redis, [...bySession.keys()].map(sessionKey), (pipeline, key, i) => {
      const args = groups[i]!.flatMap((j) => {
        const e = events[j]!
        return [e.kind, e.playerId, e.tsUs, e.country ?? '', expiryMs(e.tsUs)]
      })
      scripts.claim.queue(pipeline, [key], args)
    })
    const claims = new Array<Claimed>(events.length)
    groups.forEach((g, i) => g.forEach((j, k) => { claims[j] = replies[i]![k]! }))
    // Step 2.
    const derived = derivedWrites(scripts, (nowMs - RETENTION_MS) * 1000)
    const out = claims.map((reply, i): EventOutcome => {
      if (reply.length === 1) return { status: 'rejected', message: CODES[reply[0]] ?? reply[0] }
      const [status, p, c, s, e] = reply
      const event = events[i]!
      derived.add(event.sessionId, { p, c, s, e }, event.kind === 'start')
      return { status: status === 1 ? 'accepted' : 'duplicate' }
    })
    await derived.run(redis)
    return out
  }

  async function completed (playerId: string, limit: number, nowMs: number): Promise<CompletedSession[]> {
    const key = doneKey(playerId)
    const out: CompletedSession[] = []
    const dead: string[] = []
    const page = limit + 8
    // The trim and the first page go out together (one key, one connection, in order): one round trip, not two.
    const [, firstIds] = await Promise.all([
      redis.zremrangebyscore(key, '-inf', `(${(nowMs - RETENTION_MS) * 1000}`),
      redis.zrevrange(key, 0, page - 1)
    ])
    for (let offset = 0; out.length < limit; offset += page) {
      const ids = offset === 0 ? firstIds : await redis.zrevrange(key, offset, offset + page - 1)
      if (ids.length === 0) break
      const rows = await perKey<Array<string | null>>(redis, ids.map(sessionKey), (pipeline, k) => {
        pipeline.hmget(k, 'p', 'c', 's', 'e')
      })
      for (let i = 0; i < ids.length && out.length < limit; i++) {
        const [p, c, s, e] = rows[i]!
        const sessionId = ids[i]!
        // The hash outlives the app clock's idea of "expired" by nothing in production; tests move the clock.
        if (!p || !c || !s || !e || expiryMs(Number(s)) <= nowMs) {
          dead.push(sessionId)
          continue
        }
        out.push({ sessionId, playerId: p, country: c, startUs: Number(s), endUs: Number(e) })
      }
      if (ids.length < page) break
    }
    if (dead.length > 0) await redis.zrem(key, ...dead)
    return out
  }

  async function startsBetween (sinceUs: number, untilUs: number, limit: number, maxListed = Infinity,
    next?: Continue): Promise<StartsJson> {
    // Nothing older than the retention, whatever the caller asks (the service never asks further back than 8760 h).
    const since = Math.max(sinceUs, untilUs - RETENTION_MS * 1000)
    const [lo, hi] = [`(${since}`, String(untilUs)]
    const days = daysOf(since, untilUs)
    const perDay = await perKey<string[]>(redis, days.map(dayCountriesKey), (pipeline, k) => { pipeline.smembers(k) })
    // Buckets newest day first: a country's newest starts are listed from the fewest buckets.
    const cells = days.flatMap((day, i) => perDay[i]!.map(country => ({ key: dayBucketKey(day, country), country })))
    const counts = await perKey<number>(redis, cells.map(c => c.key), (pipeline, k) => { pipeline.zcount(k, lo, hi) })

    interface Entry { count: number, left: number, listed: number, lists: string[][], last?: string }
    const byCountry = new Map<string, Entry>()
    const wanted: Array<{ key: string, take: number, entry: Entry }> = []
    let total = 0
    let budget = maxListed
    cells.forEach(({ key, country }, i) => {
      const n = counts[i]!
      if (n === 0) return
      let entry = byCountry.get(country)
      if (!entry) byCountry.set(country, (entry = { count: 0, left: limit, listed: 0, lists: [] }))
      entry.count += n
      total += n
      const take = Math.min(n, entry.left, budget)
      if (take > 0) {
        entry.left -= take
        budget -= take
        wanted.push({ key, take, entry })
      }
    })
    const members = await perKey<string[]>(redis, wanted.map(w => w.key), (pipeline, k, i) => {
      pipeline.zrevrangebyscore(k, hi, lo, 'LIMIT', 0, wanted[i]!.take)
    })
    // `wanted` runs newest bucket first, so a country's last list holds its oldest listed start.
    wanted.forEach(({ entry }, i) => {
      const list = members[i]!
      entry.lists.push(list.map(listed))
      entry.listed += list.length
      if (list.length > 0) entry.last = list[list.length - 1]
    })

    const parts = [...byCountry.keys()].sort().map((cc) => {
      const { count, listed: n, lists, last } = byCountry.get(cc)!
      return `"${cc}":${countryJson(count, n, lists.flat().join(','), next, cc, () => last === undefined ? undefined : positionOf(last))}`
    })
    return { total, countriesJson: `{${parts.join(',')}}` }
  }

  async function startsPage (country: string, sinceUs: number, untilUs: number, limit: number,
    after?: StartPosition): Promise<CountryPage> {
    const since = Math.max(sinceUs, untilUs - RETENTION_MS * 1000)
    const [lo, hi] = [`(${since}`, String(untilUs)]
    const days = daysOf(since, untilUs)
    const keys = days.map(day => dayBucketKey(day, country))
    const cursorDay = after && after.tsUs > since && after.tsUs <= untilUs ? dayOf(after.tsUs) : undefined
    const [counts, inCursorDay] = await Promise.all([
      perKey<number>(redis, keys, (pipeline, k) => { pipeline.zcount(k, lo, hi) }),
      cursorDay === undefined ? undefined : pageAfter(dayBucketKey(cursorDay, country), after!, lo, limit + 1)
    ])
    const count = counts.reduce((a, b) => a + b, 0)
    if (after && cursorDay === undefined) return { count, sessionsJson: '', more: false }
    // After the cursor: nothing in newer days; in its own day what the script listed (or, when its member is gone —
    // only a made-up cursor — whatever lies below its score); older days from their newest start.
    const page = inCursorDay ?? []
    const reads: Array<{ key: string, take: number, below?: number }> = []
    let left = limit + 1 - page.length
    days.forEach((day, i) => {
      if (left === 0 || (cursorDay !== undefined && day > cursorDay)) return
      if (day === cursorDay && inCursorDay) return
      const take = Math.min(counts[i]!, left)
      if (take === 0) return
      left -= take
      reads.push({ key: keys[i]!, take, ...(day === cursorDay ? { below: after!.tsUs } : {}) })
    })
    const lists = await perKey<string[]>(redis, reads.map(r => r.key), (pipeline, k, i) => {
      const { take, below } = reads[i]!
      pipeline.zrevrangebyscore(k, below === undefined ? hi : `(${below}`, lo, 'LIMIT', 0, take)
    })
    page.push(...lists.flat())
    const more = page.length > limit
    if (more) page.length = limit
    const last = page[page.length - 1]
    return {
      count,
      sessionsJson: page.map(listed).join(','),
      more,
      ...(last === undefined ? {} : { last: positionOf(last) })
    }
  }

  /** The members after `after` in its bucket (at most `take`), or undefined when its member is not there. */
  async function pageAfter (key: string, after: StartPosition, lo: string, take: number):
  Promise<string[] | undefined> {
    return await scripts.pageAfter([key], [memberOf(after), lo, take]) as string[] | null ?? undefined
  }

  return { putEvents, completed, startsBetween, startsPage }
}

/** The day buckets of a window, newest first. */
function daysOf (sinceUs: number, untilUs: number): number[] {
  const days: number[] = []
  for (let day = dayOf(untilUs); day >= dayOf(sinceUs); day--) days.push(day)
  return days
}

// The layout before Redis Cluster (one Redis, no hash tags): sess:s:<sid> (the same hash), sess:done:<pid>,
// sess:day:<day>:<CC> (the same sorted sets) and sess:daycc:<day> (a hash country → count, not idempotent to keep
// up, now a set). Everything but the session hashes is derived from them, so they are the only keys moved.
const LEGACY_SESSION = 'sess:s:'
const LEGACY_DERIVED = ['sess:done:*', 'sess:day:*', 'sess:daycc:*']
const MIGRATE_CHUNK = 500

/**
 * Moves sessions stored in the older layout into this one, on one Redis (or a cluster the old keys were imported
 * into): each old session hash is merged into its new hash (a field both hold keeps its old value: it was written
 * first), its derived keys are written as a re-sent event writes them, and then the old hash is deleted; finally
 * the old derived keys are deleted. Idempotent: a second run, or one after a crash half-way, finishes the job and
 * changes nothing more. Answers the number of old keys moved or deleted.
 */
export async function migrateLegacy (redis: RedisClient, nowMs = Date.now()): Promise<number> {
  const scripts = defineSessionScripts(redis)
  let moved = 0
  await scanKeys(redis, `${LEGACY_SESSION}*`, async (chunk) => {
    const ids = chunk.map(k => k.slice(LEGACY_SESSION.length))
    const newKeys = ids.map(sessionKey)
    const hashes = await perKey<Record<string, string>>(redis, [...chunk, ...newKeys], (pipeline, k) => {
      pipeline.hgetall(k)
    })
    const writes: Array<(pipeline: ChainableCommander, key: string) => void> = []
    const writeKeys: string[] = []
    const derived = derivedWrites(scripts, (nowMs - RETENTION_MS) * 1000)
    ids.forEach((sessionId, j) => {
      const old = hashes[j]!
      if (!old.p || !(old.s ?? old.e)) return
      const current = hashes[chunk.length + j]!
      // A new hash of another player holds an event that would have been refused had the old one been visible.
      const merged = current.p === undefined || current.p === old.p ? { ...current, ...old } : old
      const stale = Object.keys(current).filter(field => !(field in merged))
      const stored: Stored = { p: merged.p!, c: merged.c ?? null, s: merged.s ?? null, e: merged.e ?? null }
      const expireAt = expiryMs(Number(stored.s ?? stored.e))
      // Commands on one key go in one pipeline of one node, in this order.
      if (stale.length > 0) {
        writeKeys.push(newKeys[j]!)
        writes.push((p, k) => { p.hdel(k, ...stale) })
      }
      writeKeys.push(newKeys[j]!, newKeys[j]!)
      writes.push((p, k) => { p.hset(k, merged) }, (p, k) => { p.pexpireat(k, expireAt) })
      derived.add(sessionId, stored, true)
      moved++
    })
    await perKey(redis, writeKeys, (pipeline, key, i) => writes[i]!(pipeline, key))
    await derived.run(redis)
    // The old hash goes last: until then a re-run finds it and redoes the steps above.
    await perKey(redis, chunk, (pipeline, k) => { pipeline.del(k) })
  })
  for (const pattern of LEGACY_DERIVED) {
    await scanKeys(redis, pattern, async (keys) => {
      await perKey(redis, keys, (pipeline, k) => { pipeline.del(k) })
      moved += keys.length
    })
  }
  return moved
}

/** Hands the keys matching `pattern` to `each` a chunk at a time, scanning every master of a cluster. */
async function scanKeys (redis: RedisClient, pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', MIGRATE_CHUNK)
      cursor = next
      if (keys.length > 0) await each(keys)
    } while (cursor !== '0')
  }
}
