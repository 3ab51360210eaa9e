import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../helpers/app.js'

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
