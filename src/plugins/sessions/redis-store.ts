import type { Redis } from 'ioredis'
import {
  REJECT, RETENTION_MS, HOUR_US, expiryMs, hourOf,
  type CompletedSession, type EventOutcome, type SessionEvent, type SessionStore, type StartedSession,
  type StartsByCountry, planWindow
} from './store.js'

// Redis layout (standalone Redis: one event's keys span several cluster slots, see docs/sessions.md):
//   sess:s:<session_id>          hash p (player), c (country), s (start µs), e (end µs); expires at the session's
//                                earliest event + 365 d (the start, once known: starts never follow their end)
//   sess:done:<player_id>        sorted set of completed session ids scored by end µs. Members cannot expire on
//                                their own, so reads and writes prune them (ZREMRANGEBYSCORE below now - 365 d, and
//                                any member whose session hash has expired); the key expires with its newest member
//   sess:starts:<hour>:<CC>      sorted set `<session_id>\n<player_id>` scored by start µs, one per hour since the
//                                epoch and country; expires at bucket end + 365 d (queries never look past 365 d)
//   sess:startcc:<hour>          hash country → number of starts in that hour; same expiry
// Ids never contain control characters (the service refuses them), so '\n' separates a bucket member safely.

const KEYS_PER_EVENT = 4
const ARGS_PER_EVENT = 7

// One script per batch: each event's checks and writes happen together, so no event is ever half-stored and two
// requests racing on one session pair it exactly once. Per event it answers 1 (stored), 0 (duplicate) or a code.
const PUT_EVENTS = `
local out = {}
local prune = ARGV[1]
local n = (#ARGV - 1) / ${ARGS_PER_EVENT}
local function complete (done, endUs, sid, expireAt)
  redis.call('ZADD', done, endUs, sid)
  redis.call('ZREMRANGEBYSCORE', done, '-inf', '(' .. prune)
  local cur = redis.call('PEXPIRETIME', done)
  if cur < 0 or cur < expireAt then redis.call('PEXPIREAT', done, expireAt) end
end
for i = 0, n - 1 do
  local a = 2 + i * ${ARGS_PER_EVENT}
  local kind, sid, pid, ts, cc = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local expireAt, bucketExpireAt = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local k = i * ${KEYS_PER_EVENT}
  local h, done, bucket, countries = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local cur = redis.call('HMGET', h, 'p', 's', 'e')
  local p0, s0, e0 = cur[1], cur[2], cur[3]
  if (kind == 'start' and s0) or (kind == 'end' and e0) then
    out[i + 1] = 0
  elseif p0 and p0 ~= pid then
    out[i + 1] = 'other-player'
  elseif kind == 'start' and e0 and tonumber(e0) < tonumber(ts) then
    out[i + 1] = 'start-after-end'
  elseif kind == 'end' and s0 and tonumber(ts) < tonumber(s0) then
    out[i + 1] = 'end-before-start'
  elseif kind == 'start' then
    redis.call('HSET', h, 'p', pid, 's', ts, 'c', cc)
    redis.call('PEXPIREAT', h, expireAt)
    redis.call('ZADD', bucket, ts, sid .. '\\n' .. pid)
    redis.call('PEXPIREAT', bucket, bucketExpireAt)
    redis.call('HINCRBY', countries, cc, 1)
    redis.call('PEXPIREAT', countries, bucketExpireAt)
    if e0 then complete(done, e0, sid, expireAt) end
    out[i + 1] = 1
  else
    redis.call('HSET', h, 'p', pid, 'e', ts)
    if s0 then
      complete(done, ts, sid, redis.call('PEXPIRETIME', h))
    else
      redis.call('PEXPIREAT', h, expireAt)
    end
    out[i + 1] = 1
  end
end
return out
`

const CODES: Record<string, string> = {
  'other-player': REJECT.otherPlayer,
  'start-after-end': REJECT.startAfterEnd,
  'end-before-start': REJECT.endBeforeStart
}

export const sessionKey = (sessionId: string) => `sess:s:${sessionId}`
export const doneKey = (playerId: string) => `sess:done:${playerId}`
export const bucketKey = (hour: number, country: string) => `sess:starts:${hour}:${country}`
export const bucketCountriesKey = (hour: number) => `sess:startcc:${hour}`

type WithPutEvents = Redis & { sessPutEvents (numKeys: number, ...args: string[]): Promise<Array<number | string>> }

export function createRedisStore ({ redis }: { redis: Redis }): SessionStore {
  if (!('sessPutEvents' in redis)) redis.defineCommand('sessPutEvents', { lua: PUT_EVENTS })
  const r = redis as WithPutEvents

  async function putEvents (events: SessionEvent[], nowMs: number): Promise<EventOutcome[]> {
    if (events.length === 0) return []
    const keys: string[] = []
    const args: string[] = [String((nowMs - RETENTION_MS) * 1000)]
    for (const e of events) {
      // The start's hour: an end event touches no bucket, its slots are placeholders of the fixed stride.
      const hour = hourOf(e.tsUs)
      keys.push(sessionKey(e.sessionId), doneKey(e.playerId), bucketKey(hour, e.country ?? '--'), bucketCountriesKey(hour))
      args.push(e.kind, e.sessionId, e.playerId, String(e.tsUs), e.country ?? '', String(expiryMs(e.tsUs)),
        String((hour + 1) * (HOUR_US / 1000) + RETENTION_MS))
    }
    const replies = await r.sessPutEvents(keys.length, ...keys, ...args)
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

  async function startsBetween (sinceUs: number, untilUs: number, limit: number): Promise<StartsByCountry> {
    const hours: number[] = []
    for (let h = hourOf(untilUs); h >= hourOf(sinceUs); h--) hours.push(h)

    // Each hour keeps a per-country count of its starts (maintained by the put script), so hours wholly inside the
    // window are counted from one HGETALL each; only the two edge hours need a ZCOUNT per country.
    const ccPipe = redis.pipeline()
    for (const h of hours) ccPipe.hgetall(bucketCountriesKey(h))
    const perHour = ((await ccPipe.exec()) ?? []).map(([err, counts]) => {
      if (err) throw err
      return counts as Record<string, string>
    })

    const firstHour = hourOf(sinceUs)
    const lastHour = hourOf(untilUs)
    const cells: Array<{ hour: number, country: string }> = []
    const counts: number[] = []
    const edgePipe = redis.pipeline()
    const edgeCells: number[] = []
    hours.forEach((hour, i) => {
      for (const [country, n] of Object.entries(perHour[i] ?? {})) {
        if (hour === firstHour || hour === lastHour) {
          edgeCells.push(cells.length)
          edgePipe.zcount(bucketKey(hour, country), `(${sinceUs}`, untilUs)
        }
        cells.push({ hour, country })
        counts.push(Number(n))
      }
    })
    if (edgeCells.length > 0) {
      ((await edgePipe.exec()) ?? []).forEach(([err, n], j) => {
        if (err) throw err
        counts[edgeCells[j]!] = n as number
      })
    }

    const { result, wanted } = planWindow(cells, counts, limit)
    const listPipe = redis.pipeline()
    for (const { hour, country, take } of wanted) {
      listPipe.zrevrangebyscore(bucketKey(hour, country), untilUs, `(${sinceUs}`, 'WITHSCORES', 'LIMIT', 0, take)
    }
    const listed = wanted.map(w => w.country)
    const lists = listed.length > 0 ? ((await listPipe.exec()) ?? []) : []
    lists.forEach(([err, flat], i) => {
      if (err) throw err
      const items = flat as string[]
      const sessions = result.countries[listed[i] as string]?.sessions as StartedSession[]
      for (let j = 0; j < items.length; j += 2) {
        const member = items[j] as string
        const cut = member.indexOf('\n')
        sessions.push({ sessionId: member.slice(0, cut), playerId: member.slice(cut + 1), tsUs: Number(items[j + 1]) })
      }
    })
    return result
  }

  return { putEvents, completed, startsBetween }
}
