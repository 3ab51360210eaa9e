// The users domain's Lua, loaded by redis-store.ts through defineScripts. Each script touches the keys of one
// shard (one hash tag), so it runs in one slot of a Redis Cluster.

// One script per shard of a job batch, so each shard's part of a batch is applied all-or-nothing: a worker killed
// mid-job leaves every shard with all or none of its records, and the re-run after the stalled check finds the
// records already applied unchanged.
// KEYS: 1 index, 2 stats, 3 versions, 4.. user keys (n of them). ARGV: n values, n emails, then n versions, or
// nothing when unversioned. A record older than the one stored (a batch retried late, or applied by another worker
// after a newer one) leaves it alone and counts as unchanged; a record of the same version is applied again.
export const UPSERT = `
local inserted, updated, unchanged = 0, 0, 0
local n = #KEYS - 3
local versioned = #ARGV == 3 * n
for i = 1, n do
  local key = KEYS[i + 3]
  local value = ARGV[i]
  local email = ARGV[n + i]
  local stale = false
  if versioned then
    local version = tonumber(ARGV[2 * n + i])
    local current = tonumber(redis.call('HGET', KEYS[3], email))
    if current and current > version then
      stale = true
    else
      redis.call('HSET', KEYS[3], email, ARGV[2 * n + i])
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

/**
 * KEYS: 1 a shard's index, 2 its snapshot. ARGV: 1 snapshot TTL (s). Copies the index and sets the TTL in one step,
 * so a snapshot never lives without one; returns the number of users copied.
 */
export const SNAPSHOT = `
local n = redis.call('ZUNIONSTORE', KEYS[2], 1, KEYS[1])
if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return n
`
