import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { allKeys, build } from '../helpers/app.js'
import { perKey } from '../../src/plugins/infra/gather.js'

// Values the original ad service's own tests send, decided one by one (docs/compatibility.md): an empty
// session_id and a one-number sdk_version are what real SDKs can send, and are counted; an alpha-3 country code
// is not (device locales give alpha-2), and stays a 400 naming the field and the rule.

type Test = import('tap').Test
const base = { sdk_version: '1.0', session_id: 'sess-1', platform: 'android', username: 'Jack', country_code: 'US' }
const qs = (p: Record<string, string>) => new URLSearchParams(p).toString()

async function setup (t: Test): Promise<FastifyInstance> {
  const app = await build(t)
  await perKey(app.redis, await allKeys(app.redis, 'ads:*'), (p, key) => { p.del(key) })
  return app
}

const stats = async (app: FastifyInstance, query: string) => (await app.inject(`/statistics?${query}`)).json()

t.test('an empty session_id is accepted on /ad and /impression and counted', async (t) => {
  const app = await setup(t)
  const params = qs({ ...base, session_id: '', username: 'no-session' })
  t.equal((await app.inject(`/ad?${params}`)).statusCode, 200)
  const imp = await app.inject(`/impression?${params}`)
  t.equal(imp.statusCode, 200)
  t.same(imp.json(), { success: true, message: 'Successfully fetched' })
  t.same((await stats(app, 'username=no-session'))['no-session'], { impressions: 1, ad_requests: 1, fill_rate: 1 })
  // The session_id must still be present: absent is the original's "following params are required".
  const { session_id: _omit, ...rest } = base
  const missing = await app.inject(`/ad?${qs(rest)}`)
  t.same({ status: missing.statusCode, body: missing.json() },
    { status: 400, body: { success: false, message: "following params are required ['session_id']" } })
})

t.test('sdk_version=1 (no dot) is accepted and counted under "1"', async (t) => {
  const app = await setup(t)
  const params = qs({ ...base, sdk_version: '1', username: 'one' })
  t.equal((await app.inject(`/ad?${params}`)).statusCode, 200)
  t.equal((await app.inject(`/impression?${params}`)).statusCode, 200)
  t.same((await stats(app, 'sdk=1'))['1'], { impressions: 1, ad_requests: 1, fill_rate: 1 })
  const bad = await app.inject(`/ad?${qs({ ...base, sdk_version: 'v1' })}`)
  t.same(bad.json(), { success: false, message: 'sdk_version must be a dotted version such as 1.0 or 2.3.1' })
})

t.test('an alpha-3 country code stays a 400 naming the field and the rule, and counts nothing', async (t) => {
  const app = await setup(t)
  for (const path of ['/ad', '/impression']) {
    const res = await app.inject(`${path}?${qs({ ...base, username: 'alpha3', country_code: 'FIN' })}`)
    t.equal(res.statusCode, 400, path)
    t.same(res.json(), { success: false, message: 'country_code must be two letters (ISO 3166-1 alpha-2)' }, path)
  }
  const none = await app.inject('/statistics?username=alpha3')
  t.equal(none.statusCode, 404, 'nothing was counted for the user')
})
