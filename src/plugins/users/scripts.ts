// The users domain's Lua, loaded by redis-store.ts through defineScripts.

// One script per job batch, so a batch is applied all-or-nothing: a worker killed mid-job either applied
// the whole batch or none of it, and the re-run after the stalled check finds every record unchanged.
// KEYS: 1 index, 2 stats, 3 versions, 4.. user keys. ARGV: n values, n emails, then the batch's base version
// ('' = unversioned). Record i of a batch has version base + i: a record older than the one stored (a batch
// retried late, or applied by another worker after a newer one) leaves it alone and counts as unchanged.
export const UPSERT = `
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
