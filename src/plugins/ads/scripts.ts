// The ads domain's Lua, loaded by redis-store.ts through defineScripts. Each script is one round trip and
// atomic, so the counters of one request move together.

/** KEYS: the counter hashes to bump. ARGV: the fields to bump by 1 in each of them. */
export const INCREMENT = `
for i = 1, #KEYS do
  for j = 1, #ARGV do redis.call('HINCRBY', KEYS[i], ARGV[j], 1) end
end
return 1`

/**
 * KEYS: 1 the ad serving id's marker, 2 the user's counters, 3 the SDK version's counters. ARGV: 1 marker TTL (s).
 * Counts one impression unless the marker exists already; returns 1 when it counted, else 0.
 */
export const IMPRESSION_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], 'impressions', 1)
  redis.call('HINCRBY', KEYS[3], 'impressions', 1)
  return 1
end
return 0`
