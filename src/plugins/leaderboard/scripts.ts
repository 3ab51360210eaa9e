// The leaderboard's Lua, loaded by redis-store.ts (and only there). Each script runs atomically in Redis, so
// compare-and-set of a best score can't race and a listing is read from one consistent state. Scores are stored
// NEGATED (see redis-store.ts): ascending ZRANGE then lists the highest score first and, among equal scores,
// names in ascending byte order.

/** Length of the rolling window, in UTC days. */
export const WINDOW_DAYS = 30

/**
 * Registers a board name unless that would make more than the allowed number of boards, in all or for the
 * account creating it. KEYS: 1 the board-name set, 2 the boards-per-account hash (same slot). ARGV: 1 board, 2 the
 * maximum, 3 the creating account ('' = not counted: an admin), 4 its maximum. Returns 1 when the board is (now)
 * known, 0 when all boards are taken, -1 when the account has created its maximum.
 */
export const ADD_BOARD = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
if ARGV[3] ~= '' then
  if tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0') >= tonumber(ARGV[4]) then return -1 end
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
`

/**
 * Applies submissions in order, answering each with the standing right after it was applied (so a batch means
 * exactly what the same submissions one by one would, with nobody else's write in between).
 * KEYS: 1 all-time set, 2 today's bucket, 3 day index, 4 30-day view, 5 view-day marker, 6.. dedupe keys.
 * ARGV: 1 day, 2 bucket TTL ms, 3 view TTL ms, 4 dedupe TTL ms, then per entry: name, -score,
 * dedupe key index (0: none).
 * Returns 'STALE' (nothing written) when the view was built for an earlier day (or is gone), so the caller
 * rebuilds and retries; else per entry: best (negated, '' if absent), all-time rank, 30-day rank (0 if absent),
 * duplicate (0/1).
 * A view built for a later day (another process whose clock already passed midnight) is used as it is: views
 * only move forward, so processes with slightly different clocks can't keep rebuilding it back and forth. An
 * entry goes into such a view only if its day is inside that view's window.
 */
export const SUBMIT = `
local vd = tonumber(redis.call('GET', KEYS[5]))
if not vd or vd < tonumber(ARGV[1]) then return 'STALE' end
local inView = tonumber(ARGV[1]) > vd - ${WINDOW_DAYS}
local n = (#ARGV - 4) / 3
local out = {}
local wrote = false
for i = 1, n do
  local b = 4 + (i - 1) * 3
  local name, neg, dk = ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3])
  local dup = 0
  if dk > 0 and not redis.call('SET', KEYS[dk], '1', 'NX', 'PX', ARGV[4]) then dup = 1 end
  if dup == 0 then
    -- LT on negated scores = "keep the larger score"; new members are added either way.
    redis.call('ZADD', KEYS[1], 'LT', neg, name)
    redis.call('ZADD', KEYS[2], 'LT', neg, name)
    if inView then redis.call('ZADD', KEYS[4], 'LT', neg, name) end
    wrote = true
  end
  local best = redis.call('ZSCORE', KEYS[1], name)
  local rank, wrank = 0, 0
  if best then rank = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. best) + 1 end
  local wbest = redis.call('ZSCORE', KEYS[4], name)
  if wbest then wrank = redis.call('ZCOUNT', KEYS[4], '-inf', '(' .. wbest) + 1 end
  out[#out + 1] = best or ''
  out[#out + 1] = rank
  out[#out + 1] = wrank
  out[#out + 1] = dup
end
if wrote then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
end
return out
`

/**
 * (Re)builds the 30-day view for a day as the MIN-union (= best score) of the day buckets in the window.
 * KEYS: 1 view, 2 view-day marker, 3.. the window's day buckets. ARGV: 1 day, 2 view TTL ms, 3 '1' to force.
 * Returns how many buckets went into it, or -1 when the view was already built for that day or a later one.
 */
export const REBUILD_VIEW = `
local built = tonumber(redis.call('GET', KEYS[2]))
if ARGV[3] ~= '1' and built and built >= tonumber(ARGV[1]) then return -1 end
local args = { 'ZUNIONSTORE', KEYS[1], 0 }
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then args[#args + 1] = KEYS[i] end
end
local count = #args - 3
if count == 0 then
  redis.call('DEL', KEYS[1])
else
  args[3] = count
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MIN'
  redis.call(unpack(args))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return count
`

/**
 * One page of a board, its size, the rank of the page's first entry and, when a name is given and that player
 * is past the page, the player with up to 2 neighbours either side.
 * KEYS: 1 the set (all-time or 30-day view), [2 view-day marker]. ARGV: 1 page (>= 1), 2 page size, 3 name or '',
 * [4 day]. Returns {'STALE'} | {'BADPAGE', total} | {'NONAME', total} |
 * {'OK', total, start, firstRank, items, aroundStart (-1: none), aroundFirstRank, aroundItems}.
 */
export const PAGE = `
if KEYS[2] and (tonumber(redis.call('GET', KEYS[2])) or -1) < tonumber(ARGV[4]) then return { 'STALE' } end
local total = redis.call('ZCARD', KEYS[1])
local page, size = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = (page - 1) * size
if page > 1 and start >= total then return { 'BADPAGE', total } end
local items = redis.call('ZRANGE', KEYS[1], start, start + size - 1, 'WITHSCORES')
local first = 0
if #items > 0 then first = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. items[2]) + 1 end
local aroundStart, aroundFirst, around = -1, 0, {}
if ARGV[3] ~= '' then
  local pos = redis.call('ZRANK', KEYS[1], ARGV[3])
  if not pos then return { 'NONAME', total } end
  if pos >= start + size then
    aroundStart = math.max(0, pos - 2)
    around = redis.call('ZRANGE', KEYS[1], aroundStart, pos + 2, 'WITHSCORES')
    aroundFirst = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. around[2]) + 1
  end
end
return { 'OK', total, start, first, items, aroundStart, aroundFirst, around }
`

/**
 * One player's score and rank. KEYS: 1 the set, [2 view-day marker]. ARGV: 1 name, [2 day].
 * Returns {'STALE'} | {'NONAME'} | {'OK', score (negated), rank}.
 */
export const PLAYER = `
if KEYS[2] and (tonumber(redis.call('GET', KEYS[2])) or -1) < tonumber(ARGV[2]) then return { 'STALE' } end
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return { 'NONAME' } end
return { 'OK', s, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. s) + 1 }
`
