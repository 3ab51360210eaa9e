import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Cluster } from 'ioredis'
import { build, redisClient } from '../helpers/app.js'

// The original service's concurrency check: two clients at once, each sending 10,000 ad requests and 10,000
// impressions for Jack on SDK 1.0, must leave exactly 20,000 of each (built-in VAST, no upstream).

const PER_CLIENT = 10_000
const IN_FLIGHT = 50
const query = new URLSearchParams({ sdk_version: '1.0', session_id: 'load', platform: 'android', username: 'Jack', country_code: 'US' })

/**
 * One client: PER_CLIENT × (/ad + /impression), at most IN_FLIGHT requests outstanding; returns the count of
 * failed requests. In-process inject keeps the event loop saturated, so under-pressure sheds some requests
 * with 503 + Retry-After before they reach the handler (nothing counted): like a real SDK, the client retries them.
 */
async function client (app: FastifyInstance, session: string): Promise<number> {
  const q = new URLSearchParams(query)
  q.set('session_id', session)
  const urls = [`/ad?${q.toString()}`, `/impression?${q.toString()}`]
  let next = 0
  let failures = 0
  const lane = async () => {
    while (next < PER_CLIENT * 2) {
      const url = urls[next++ % 2]!
      let res = await app.inject(url)
      for (let retry = 0; res.statusCode === 503 && retry < 500; retry++) {
        await sleep(20)
        res = await app.inject(url)
      }
      if (res.statusCode !== 200) failures++
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return failures
}

t.test('two concurrent clients × 10,000 ad requests and impressions count exactly 20,000 each', async (t) => {
  // Both clients come from one address: the per-address limit (tested in test/security/ads-keys) is off here.
  const app = await build(t, { config: { ADS_RATE_LIMIT_MAX: '0' } })
  // A plain impression counts only for a username / SDK version that asked for an ad: one ad request first, so
  // no impression of the race below can arrive before its owner exists.
  t.equal((await app.inject(`/ad?${query.toString()}`)).statusCode, 200)
  const failures = await Promise.all([client(app, 'client-a'), client(app, 'client-b')])
  t.same(failures, [0, 0])
  const expected = { impressions: 20_000, ad_requests: 20_001, fill_rate: 20_000 / 20_001 }
  t.same((await app.inject('/statistics?username=Jack')).json(), { success: true, Jack: expected })
  t.same((await app.inject('/statistics?sdk=1.0')).json(), { success: true, '1.0': expected })
  t.same((await app.inject('/statistics?sdk=1.0&include=no_fills')).json(), { success: true, '1.0': { ...expected, no_fills: 0 } })
})

t.test('counts that arrive together leave as one script call per owner, and each is answered once it is in Redis',
  async (t) => {
    const app = await build(t, { config: { ADS_RATE_LIMIT_MAX: '0' } })
    const redis = await redisClient(t)
    await redis.ping() // a cluster client knows which nodes are masters once connected
    const masters = redis instanceof Cluster ? redis.nodes('master') : [redis]
    const scriptCalls = async () => (await Promise.all(masters.map(async (m) => {
      const stats = await m.info('commandstats')
      return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((n, match) => n + Number(match[1]), 0)
    }))).reduce((a, b) => a + b, 0)
    const q = new URLSearchParams(query)
    q.set('username', 'Batched')
    q.set('sdk_version', '7.7')
    const before = await scriptCalls()
    // 200 ad requests in one turn of the event loop, then 200 impressions: every one answered 200 …
    const ads = await Promise.all(Array.from({ length: 200 }, () => app.inject(`/ad?${q.toString()}`)))
    const imps = await Promise.all(Array.from({ length: 200 }, () => app.inject(`/impression?${q.toString()}`)))
    t.same([...new Set([...ads, ...imps].map(r => r.statusCode))], [200])
    // … and by the time they were answered, every one of them was counted, for the user and for the SDK version
    const expected = { impressions: 200, ad_requests: 200, fill_rate: 1 }
    t.same((await app.inject('/statistics?username=Batched')).json(), { success: true, Batched: expected })
    t.same((await app.inject('/statistics?sdk=7.7')).json(), { success: true, 7.7: expected })
    // one call per owner per batch instead of one per request and owner (800): far fewer scripts ran
    const calls = await scriptCalls() - before
    t.ok(calls < 200, `${calls} script calls for 400 requests × 2 owners`)
  })
