// The ads domain's Lua, loaded by redis-store.ts through defineScripts. Each script touches the keys of one
// counter owner (one username or one SDK version: one hash tag), so it runs in one slot of a Redis Cluster.
// Every counter hash expires ADS_COUNTER_TTL_S after its last count, so owners nobody asks about any more go away.

/**
 * KEYS: 1 the owner's counter hash. ARGV: 1 the hash's TTL (s), then pairs of a field and how much to add to it (the
 * ad requests and no-fills of one owner that arrived together).
 */
export const INCREMENT = `
for j = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[j], ARGV[j + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`

/**
 * KEYS: 1 the owner's counter hash. ARGV: 1 the hash's TTL (s), 2 how many plain impressions arrived together (a
 * field and a count, as INCREMENT takes them). A plain (unsigned) impression counts only for an owner that had an
 * ad request: it never creates a key. Returns 1 when it counted, else 0.
 */
export const IMPRESSION_PLAIN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`

/**
 * KEYS: 1 the owner's counter hash, 2 the owner's marker of this ad serving id. ARGV: 1 marker TTL (s), 2 the hash's
 * TTL (s). Counts one impression for this owner unless its marker exists already; returns 1 when it counted, else 0.
 */
export const IMPRESSION_ONCE = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], 'impressions', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`
