import { DAY_US } from './store.js'

// The sessions domain's Lua, loaded by redis-store.ts through defineScripts.

const KEYS_PER_EVENT = 4
const ARGS_PER_EVENT = 7

// One script per batch: each event's checks and writes happen together, so no event is ever half-stored and two
// requests racing on one session pair it exactly once. Per event it answers 1 (stored), 0 (duplicate) or a code.
// KEYS per event (KEYS_PER_EVENT): session hash, player's completed set, start day bucket, day's country counts.
// ARGV: 1 prune below (µs), then per event (ARGS_PER_EVENT): kind, session id, player id, ts µs, country,
// expire-at ms, the start as the window answer lists it.
export const PUT_EVENTS = `
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
// of exact integers). ARGV: 1 since µs, 2 until µs, 3 limit, 4 prefix of the day count hashes, 5 prefix of the day
// buckets (the store names the keys; the days to read are only known in here, so the keys are not in KEYS).
// Returns { total, { CC, count, … }, { key, first rank, last rank, CC, … } } (ranks newest first).
export const STARTS_PLAN = `
local since, untilUs, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lo, hi = '(' .. ARGV[1], ARGV[2]
local first, last = math.floor(since / ${DAY_US}), math.floor(untilUs / ${DAY_US})
local entries, order, total, plan = {}, {}, 0, {}
for day = last, first, -1 do
  local perCountry = redis.call('HGETALL', ARGV[4] .. day)
  local edge = day == first or day == last
  local prefix = ARGV[5] .. day .. ':'
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
