import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { allKeys, build, ON_CLUSTER, tempDir } from '../helpers/app.js'
import { perKey } from '../../src/plugins/infra/gather.js'

// Issue #17, bounded storage for anonymous ad callers: GET /ad and GET /impression must not create unbounded
// permanent Redis keys; counters expire, plain impressions create none, each address is rate limited, and the
// embedded Redis has a memory cap that never drops stored data.

const base = { sdk_version: '1.0', session_id: 's-1', platform: 'android', username: 'u', country_code: 'US' }
const qs = (p: Record<string, string>) => new URLSearchParams(p).toString()

async function empty (app: FastifyInstance) {
  await perKey(app.redis, await allKeys(app.redis), (pipeline, key) => { pipeline.del(key) })
}

t.test('plain impressions for unknown usernames and SDK versions create no key at all', async (t) => {
  const app = await build(t, { config: { ADS_RATE_LIMIT_MAX: '0' } })
  await empty(app)
  for (let i = 0; i < 50; i++) {
    const res = await app.inject(`/impression?${qs({ ...base, username: `ghost-${i}`, sdk_version: `9.${i}` })}`)
    t.equal(res.statusCode, 200, 'the original SDK contract: the call still succeeds')
  }
  t.same(await allKeys(app.redis, 'ads:*'), [], '50 new usernames and SDK versions, no key')
  t.equal((await app.inject('/statistics?username=ghost-1')).statusCode, 404, 'and no inflated statistics')
})

t.test('ad counters expire ADS_COUNTER_TTL_S after their last count', async (t) => {
  const app = await build(t, { config: { ADS_COUNTER_TTL_S: '7200', ADS_RATE_LIMIT_MAX: '0' } })
  await empty(app)
  await app.inject(`/ad?${qs({ ...base, username: 'ttl-user', sdk_version: '2.5' })}`)
  await app.inject(`/impression?${qs({ ...base, username: 'ttl-user', sdk_version: '2.5' })}`)
  const keys = await allKeys(app.redis, 'ads:*')
  t.same(keys, ['ads:{sdk:2.5}', 'ads:{u:ttl-user}'])
  for (const key of keys) {
    const ttl = await app.redis.ttl(key)
    t.ok(ttl > 7000 && ttl <= 7200, `${key} expires (TTL ${ttl} s)`)
  }
  // A signed impression's marker and the counters it bumps expire too.
  const ad = await app.inject(`/ad?${qs({ ...base, username: 'signed-user', sdk_version: '2.6' })}`)
  const url = new URL(/<Impression id="playfield">([^<]+)<\/Impression>/.exec(ad.body)![1]!.replace(/&amp;/g, '&'))
  t.equal((await app.inject(url.pathname + url.search)).statusCode, 200)
  for (const key of await allKeys(app.redis, 'ads:*')) t.ok(await app.redis.ttl(key) > 0, `${key} has a TTL`)
  t.equal((await app.inject('/statistics?username=signed-user')).json()['signed-user'].impressions, 1)
})

t.test('GET /ad and GET /impression are rate limited per client address', async (t) => {
  const app = await build(t, { config: { ADS_RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' } })
  await empty(app)
  for (const path of ['/ad', '/impression']) {
    const url = `${path}?${qs(base)}`
    for (let i = 0; i < 5; i++) t.equal((await app.inject({ url, remoteAddress: '203.0.113.7' })).statusCode, 200)
    const limited = await app.inject({ url, remoteAddress: '203.0.113.7' })
    t.equal(limited.statusCode, 429, `${path}: the 6th call of one address`)
    t.equal(limited.json().success, false)
    t.match(limited.json().message, /rate limit exceeded/)
    t.equal((await app.inject({ url, remoteAddress: '203.0.113.8' })).statusCode, 200, `${path}: another address`)
  }
  // The counters are single keys (one slot each) that expire with the window.
  const counters = await allKeys(app.redis, 'auth:rl:*')
  t.ok(counters.length >= 4)
  for (const key of counters) t.ok(await app.redis.pttl(key) > 0, `${key} expires`)
})

t.test('the embedded Redis runs with a maxmemory and noeviction; at the cap writes get 503, reads keep working',
  { skip: ON_CLUSTER && 'the embedded redis-server is a single node' }, async (t) => {
    const dir = await tempDir(t)
    const app = await build(t, {
      config: { REDIS_URL: undefined, REDIS_DATA_DIR: dir, REDIS_MAXMEMORY: '64mb', ADS_RATE_LIMIT_MAX: '0', WORKERS_ENABLED: 'false' }
    })
    t.same(await app.redis.config('GET', 'maxmemory'), ['maxmemory', String(64 * 1024 * 1024)])
    t.same(await app.redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction'])
    t.equal((await app.inject(`/ad?${qs(base)}`)).statusCode, 200)
    // Pretend the cap is reached: lower it under what is in use.
    await app.redis.config('SET', 'maxmemory', '1')
    const full = await app.inject(`/ad?${qs({ ...base, username: 'one-more' })}`)
    t.equal(full.statusCode, 503)
    t.same(full.json(), { success: false, message: 'a backing service is unavailable, try again shortly' })
    t.equal((await app.inject('/statistics?username=u')).statusCode, 200, 'stored counters are still there')
    await app.redis.config('SET', 'maxmemory', String(64 * 1024 * 1024))
    t.equal((await app.inject(`/ad?${qs({ ...base, username: 'one-more' })}`)).statusCode, 200)
  })
