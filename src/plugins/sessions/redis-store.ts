import type { Redis } from 'ioredis'
import {
  REJECT, RETENTION_MS, DAY_US, dayOf, expiryMs, startedJson,
  type CompletedSession, type EventOutcome, type SessionEvent, type SessionStore, type StartsJson
} from './store.js'

// Redis layout (standalone Redis: one event's keys span several cluster slots, see docs/sessions.md):
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
// Earlier builds kept starts in hour buckets (sess:starts:<hour>:<CC>, sess:startcc:<hour>) with `<id>\n<player>`
// members. Nothing was released with that layout, so nothing reads it; such keys expire on their own.

const KEYS_PER_EVENT = 4
const ARGS_PER_EVENT = 7

// One script per batch: each event's checks and writes happen together, so no event is ever half-stored and two
// requests racing on one session pair it exactly once. Per event it answers 1 (stored), 0 (duplicate) or a code.
const PUT_EVENTS = `
local out = {}
local prune = ARGV[1]
local n = (#ARGV - 1) / ${ARGS_PER_EVENT}
-- A key holding many events' members lives until the newest of them expires (PEXPIRETIME is -1 without expiry).
local function extend (key, expireAt)
  if redis.call('PEXPIRETIME', key) < expireAt then redis.call('PEXPIREAT', key, expireAt) end
end
local function complete (done, endUs, sid, expireAt)
  redis.call('ZADD', done, endUs, sid)
  redis.call('ZREMRANGEBYSCORE', done, '-inf', '(' .. prune)
  extend(done, expireAt)
end
for i = 0, n - 1 do
  local a = 2 + i * ${ARGS_PER_EVENT}
  local kind, sid, pid, ts, cc = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local expireAt, listed = tonumber(ARGV[a + 5]), ARGV[a + 6]
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
    redis.call('ZADD', bucket, ts, sid .. '\\n' .. listed)
    extend(bucket, expireAt)
    redis.call('HINCRBY', countries, cc, 1)
    extend(countries, expireAt)
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

// The window query's read plan, inside Redis: exact counts per country (each day's count hash for days wholly in
// the window, ZCOUNT on the edge days) and which day buckets hold each country's newest `limit` starts, newest day
// first. It handles only counts and key names: the listed members are then read by plain ZREVRANGEBYSCORE, which
// is far cheaper than moving thousands of members through Lua strings. Day boundaries match dayOf() (IEEE division
// of exact integers). Returns { total, { CC, count, … }, { key, first rank, last rank, CC, … } } (ranks newest first).
const STARTS_PLAN = `
local since, untilUs, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lo, hi = '(' .. ARGV[1], ARGV[2]
local first, last = math.floor(since / ${DAY_US}), math.floor(untilUs / ${DAY_US})
local entries, order, total, plan = {}, {}, 0, {}
for day = last, first, -1 do
  local perCountry = redis.call('HGETALL', 'sess:daycc:' .. day)
  local edge = day == first or day == last
  local prefix = 'sess:day:' .. day .. ':'
  for i = 1, #perCountry, 2 do
    local cc = perCountry[i]
    local n
    if edge then n = redis.call('ZCOUNT', prefix .. cc, lo, hi) else n = tonumber(perCountry[i + 1]) end
    if n > 0 then
      local e = entries[cc]
      if not e then
        e = { count = 0, left = limit }
        entries[cc] = e
        order[#order + 1] = cc
      end
      e.count = e.count + n
      total = total + n
      if e.left > 0 then
        local take = math.min(n, e.left)
        e.left = e.left - take
        -- The window's members of a bucket are consecutive by rank: after those newer than \`until\` (starts a
        -- client stamped a little ahead; only the last day can hold any). By rank is cheaper than by score.
        local skip = day == last and redis.call('ZCOUNT', prefix .. cc, '(' .. ARGV[2], '+inf') or 0
        plan[#plan + 1] = prefix .. cc
        plan[#plan + 1] = skip
        plan[#plan + 1] = skip + take - 1
        plan[#plan + 1] = cc
      end
    end
  end
end
local counts = {}
for _, cc in ipairs(order) do
  counts[#counts + 1] = cc
  counts[#counts + 1] = entries[cc].count
end
return { total, counts, plan }
`

const CODES: Record<string, string> = {
  'other-player': REJECT.otherPlayer,
  'start-after-end': REJECT.startAfterEnd,
  'end-before-start': REJECT.endBeforeStart
}

export const sessionKey = (sessionId: string) => `sess:s:${sessionId}`
export const doneKey = (playerId: string) => `sess:done:${playerId}`
export const dayBucketKey = (day: number, country: string) => `sess:day:${day}:${country}`
export const dayCountriesKey = (day: number) => `sess:daycc:${day}`

type StartsPlan = [total: number, counts: Array<string | number>, plan: Array<string | number>]
type WithScripts = Redis & {
  sessPutEvents (numKeys: number, ...args: string[]): Promise<Array<number | string>>
  sessStartsPlan (numKeys: number, ...args: string[]): Promise<StartsPlan>
}

export function createRedisStore ({ redis }: { redis: Redis }): SessionStore {
  if (!('sessPutEvents' in redis)) redis.defineCommand('sessPutEvents', { lua: PUT_EVENTS })
  if (!('sessStartsPlan' in redis)) redis.defineCommand('sessStartsPlan', { lua: STARTS_PLAN })
  const r = redis as WithScripts

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

  async function startsBetween (sinceUs: number, untilUs: number, limit: number): Promise<StartsJson> {
    // Nothing older than the retention, whatever the caller asks (the service never asks further back than 8760 h).
    const since = String(Math.max(sinceUs, untilUs - RETENTION_MS * 1000))
    const until = String(untilUs)
    const [total, counts, plan] = await r.sessStartsPlan(0, since, until, String(limit))
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
