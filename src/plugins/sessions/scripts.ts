// The sessions domain's Lua, loaded by redis-store.ts through defineScripts. Every script touches exactly one key
// (KEYS[1]), so each runs on the slot of that key on a Redis Cluster; the store orders them (see its header).

// A key holding many events' members lives until the newest of them expires (PEXPIRETIME is -1 without expiry).
const EXTEND = `
local function extend (key, expireAt)
  if redis.call('PEXPIRETIME', key) < expireAt then redis.call('PEXPIREAT', key, expireAt) end
end
`

// The claim of one session's events (in batch order): the checks (duplicate, other player, order) and the hash write
// happen together, so two requests racing on one session store an event exactly once and pair the session exactly
// once. KEYS: the session hash. ARGV per event: kind, player id, ts µs, country, expire-at ms (its ts + 365 d).
// Answers per event { 1 (stored) or 0 (duplicate), player, country, start µs, end µs } with the session as stored
// after it (false where unknown), from which the store writes the derived keys; or { code } when it is refused.
export const CLAIM = `
local h = KEYS[1]
local cur = redis.call('HMGET', h, 'p', 'c', 's', 'e')
local p0, c0, s0, e0 = cur[1], cur[2], cur[3], cur[4]
local out = {}
for a = 1, #ARGV, 5 do
  local kind, pid, ts, cc, expireAt = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  if (kind == 'start' and s0) or (kind == 'end' and e0) then
    out[#out + 1] = { 0, p0, c0, s0, e0 }
  elseif p0 and p0 ~= pid then
    out[#out + 1] = { 'other-player' }
  elseif kind == 'start' and e0 and tonumber(e0) < tonumber(ts) then
    out[#out + 1] = { 'start-after-end' }
  elseif kind == 'end' and s0 and tonumber(ts) < tonumber(s0) then
    out[#out + 1] = { 'end-before-start' }
  elseif kind == 'start' then
    redis.call('HSET', h, 'p', pid, 's', ts, 'c', cc)
    -- The session lives as long as its start (its earliest event: a start never follows its end).
    redis.call('PEXPIREAT', h, expireAt)
    p0, c0, s0 = pid, cc, ts
    out[#out + 1] = { 1, p0, c0, s0, e0 }
  else
    redis.call('HSET', h, 'p', pid, 'e', ts)
    if not s0 then redis.call('PEXPIREAT', h, expireAt) end
    p0, e0 = pid, ts
    out[#out + 1] = { 1, p0, c0, s0, e0 }
  end
end
return out
`

// Derived writes: each is idempotent (same members, same scores, expiry only ever extended), so the store runs them
// after every claim and again for every re-sent event. Each takes the members of one batch for its key at once.

// Starts into their day-and-country bucket. KEYS: the bucket. ARGV: expire-at ms (of the newest), then start µs and
// member pairs.
export const ADD_STARTS = `${EXTEND}
redis.call('ZADD', KEYS[1], unpack(ARGV, 2))
extend(KEYS[1], tonumber(ARGV[1]))
`

// Countries into their day's country set. KEYS: the set. ARGV: expire-at ms (of the newest start), then countries.
export const ADD_COUNTRIES = `${EXTEND}
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
extend(KEYS[1], tonumber(ARGV[1]))
`

// Completed sessions into their player's set, pruning ends older than the retention.
// KEYS: the player's completed set. ARGV: expire-at ms (of the newest start), prune below µs, then end µs and
// session id pairs.
export const COMPLETE = `${EXTEND}
redis.call('ZADD', KEYS[1], unpack(ARGV, 3))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
extend(KEYS[1], tonumber(ARGV[1]))
`

// The starts listed after a cursor in its own day bucket, read in one step so that starts coming in meanwhile (they
// rank above it) can't shift what "after" means. KEYS: the bucket. ARGV: the cursor's member, the window's lower
// bound ('(' .. since µs), how many to list at most. Returns false when the member is not in the bucket, else the
// in-window members ranked below it (up to the number asked).
export const PAGE_AFTER = `
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not rank then return false end
local take = math.min(redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') - rank - 1, tonumber(ARGV[3]))
if take <= 0 then return {} end
return redis.call('ZREVRANGE', KEYS[1], rank + 1, rank + take)
`
