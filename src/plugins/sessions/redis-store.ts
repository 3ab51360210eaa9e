import { defineScripts, type RedisClient } from '../infra/lua.js'
import { PUT_EVENTS, STARTS_PLAN } from './scripts.js'
import {
  REJECT, RETENTION_MS, dayOf, expiryMs, startedJson,
  type CompletedSession, type EventOutcome, type SessionEvent, type SessionStore, type StartsJson
} from './store.js'

// Redis layout (no hash tags yet):
//   sess:s:<session_id>          hash p (player), c (country), s (start µs), e (end µs); expires at the session's
//                                earliest event + 365 d (the start, once known: starts never follow their end)
//   sess:done:<player_id>        sorted set of completed session ids scored by end µs. Members cannot expire on
//                                their own, so reads and writes prune them (ZREMRANGEBYSCORE below now - 365 d, and
//                                any member whose session hash has expired); the key expires with its newest member
//   sess:day:<day>:<CC>          sorted set of the starts of one UTC day (days since the epoch) and country, scored
//                                by start µs; member `<session_id>\n<the session as the window answer lists it>`
//                                (JSON), so a window answer is the members' text joined, with no per-session work.
//                                The id in front keeps ties in session id order ('\n' sorts below any id character)
//   sess:daycc:<day>             hash country → number of starts of that day (days wholly inside a window are
//                                counted from it)
// Both day keys expire with their newest member (its start + 365 d). Older members of the same day linger until then
// (under a day) and reads never return them: a window never reaches further back than now - 365 d.
// Ids never contain control characters (the service refuses them), so '\n' separates a member safely.
//
// Multi-key operations (their keys span slots today: this store assumes a single Redis, see docs/sessions.md):
//   PUT_EVENTS   putEvents: per event sess:s:<sid>, sess:done:<pid>, sess:day:<day>:<CC>, sess:daycc:<day>
//                (up to 10 events a call)
//   STARTS_PLAN  startsBetween: sess:daycc:<day> and sess:day:<day>:<CC> of every day in the window; the script
//                derives them from key prefixes passed in ARGV (the days are only known inside), so KEYS is empty
//   pipelines    completed: HMGET of many sess:s:<sid>; startsBetween: ZREVRANGE of many sess:day:<day>:<CC>
//
// Earlier builds kept starts in hour buckets (sess:starts:<hour>:<CC>, sess:startcc:<hour>) with `<id>\n<player>`
// members. Nothing was released with that layout, so nothing reads it; such keys expire on their own.

const CODES: Record<string, string> = {
  'other-player': REJECT.otherPlayer,
  'start-after-end': REJECT.startAfterEnd,
  'end-before-start': REJECT.endBeforeStart
}

export const sessionKey = (sessionId: string) => `sess:s:${sessionId}`
export const doneKey = (playerId: string) => `sess:done:${playerId}`
// STARTS_PLAN builds day keys from these prefixes: `${prefix}${day}` and `${prefix}${day}:${country}`.
const DAY_BUCKET_PREFIX = 'sess:day:'
const DAY_COUNTRIES_PREFIX = 'sess:daycc:'
export const dayBucketKey = (day: number, country: string) => `${DAY_BUCKET_PREFIX}${day}:${country}`
export const dayCountriesKey = (day: number) => `${DAY_COUNTRIES_PREFIX}${day}`

type StartsPlan = [total: number, counts: Array<string | number>, plan: Array<string | number>]

export function createRedisStore ({ redis }: { redis: RedisClient }): SessionStore {
  const scripts = defineScripts(redis, 'sessions', { putEvents: PUT_EVENTS, startsPlan: STARTS_PLAN })

  async function putEvents (events: SessionEvent[], nowMs: number): Promise<EventOutcome[]> {
    if (events.length === 0) return []
    const keys: string[] = []
    const args: string[] = [String((nowMs - RETENTION_MS) * 1000)]
    for (const e of events) {
      // The start's day: an end event touches no bucket, its slots are placeholders of the fixed stride.
      const day = dayOf(e.tsUs)
      const start = e.kind === 'start'
      keys.push(sessionKey(e.sessionId), doneKey(e.playerId), dayBucketKey(day, e.country ?? '--'), dayCountriesKey(day))
      args.push(e.kind, e.sessionId, e.playerId, String(e.tsUs), e.country ?? '', String(expiryMs(e.tsUs)),
        start ? startedJson(e.sessionId, e.playerId, e.tsUs) : '')
    }
    const replies = await scripts.putEvents(keys, args) as Array<number | string>
    return replies.map((reply): EventOutcome => {
      if (reply === 1) return { status: 'accepted' }
      if (reply === 0) return { status: 'duplicate' }
      return { status: 'rejected', message: CODES[String(reply)] ?? String(reply) }
    })
  }

  async function completed (playerId: string, limit: number, nowMs: number): Promise<CompletedSession[]> {
    const key = doneKey(playerId)
    await redis.zremrangebyscore(key, '-inf', `(${(nowMs - RETENTION_MS) * 1000}`)
    const out: CompletedSession[] = []
    const dead: string[] = []
    const page = limit + 8
    for (let offset = 0; out.length < limit; offset += page) {
      const ids = await redis.zrevrange(key, offset, offset + page - 1)
      if (ids.length === 0) break
      const pipe = redis.pipeline()
      for (const id of ids) pipe.hmget(sessionKey(id), 'p', 'c', 's', 'e')
      const rows = (await pipe.exec()) ?? []
      for (let i = 0; i < ids.length && out.length < limit; i++) {
        const [err, fields] = rows[i] ?? []
        if (err) throw err
        const [p, c, s, e] = fields as Array<string | null>
        const sessionId = ids[i] as string
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

  async function startsBetween (sinceUs: number, untilUs: number, limit: number): Promise<StartsJson> {
    // Nothing older than the retention, whatever the caller asks (the service never asks further back than 8760 h).
    const since = String(Math.max(sinceUs, untilUs - RETENTION_MS * 1000))
    const until = String(untilUs)
    const [total, counts, plan] = await scripts.startsPlan([],
      [since, until, String(limit), DAY_COUNTRIES_PREFIX, DAY_BUCKET_PREFIX]) as StartsPlan
    const lists = new Map<string, string[]>()
    if (plan.length > 0) {
      const pipe = redis.pipeline()
      for (let i = 0; i < plan.length; i += 4) {
        pipe.zrevrange(plan[i] as string, plan[i + 1] as number, plan[i + 2] as number)
      }
      ((await pipe.exec()) ?? []).forEach(([err, members], k) => {
        if (err) throw err
        const cc = plan[k * 4 + 3] as string
        let listed = lists.get(cc)
        if (!listed) lists.set(cc, (listed = []))
        for (const m of members as string[]) listed.push(m.slice(m.indexOf('\n') + 1))
      })
    }
    const byCountry: Array<[string, number]> = []
    for (let i = 0; i < counts.length; i += 2) byCountry.push([counts[i] as string, counts[i + 1] as number])
    byCountry.sort(([a], [b]) => (a < b ? -1 : 1))
    const parts = byCountry.map(([cc, count]) =>
      `"${cc}":{"count":${count},"sessions":[${(lists.get(cc) ?? []).join(',')}]}`)
    return { total, countriesJson: `{${parts.join(',')}}` }
  }

  return { putEvents, completed, startsBetween }
}
