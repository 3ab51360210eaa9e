import t from 'tap'
import { XMLParser } from 'fast-xml-parser'
import type { FastifyInstance } from 'fastify'
import { Cluster } from 'ioredis'
import { allKeys, build, ON_CLUSTER, redisClient } from '../helpers/app.js'
import { manualClock } from '../../src/clock.js'
import { impressionKey, legacyKey, sdkKey, userKey } from '../../src/plugins/ads/redis-store.js'
import { keySlot } from '../../src/plugins/infra/gather.js'

const base = { sdk_version: '0.9', session_id: 'sess-1', platform: 'android', username: 'Jack', country_code: 'US' }
type Params = Record<string, string>
const qs = (p: Params) => new URLSearchParams(p).toString()
const without = (...names: string[]) => Object.fromEntries(Object.entries(base).filter(([k]) => !names.includes(k)))

const parser = new XMLParser({ ignoreAttributes: false })

async function stats (app: FastifyInstance, query: string) {
  const res = await app.inject(`/statistics?${query}`)
  return { status: res.statusCode, body: res.json() }
}

/** The Impression URL of a served VAST document, as a path + query for inject. */
function impressionPath (xml: string): string {
  const m = /<Impression id="playfield">([^<]+)<\/Impression>/.exec(xml)
  if (!m) throw new Error('no playfield Impression in the VAST')
  const url = new URL(m[1]!.replace(/&amp;/g, '&'))
  return url.pathname + url.search
}

t.test('GET /ad serves the built-in VAST 4 InLine ad as application/xml and counts one ad request', async (t) => {
  const app = await build(t, { config: { PUBLIC_BASE_URL: 'https://ads.example.test/' } })
  const res = await app.inject(`/ad?${qs({ ...base, username: 'builtin-user', sdk_version: '7.1' })}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/xml')
  const doc = parser.parse(res.body)
  t.equal(doc.VAST['@_version'], '4.2')
  const inline = doc.VAST.Ad.InLine
  t.equal(inline.AdSystem, 'playfield')
  t.equal(inline.AdTitle, 'playfield house ad')
  t.match(inline.AdServingId, /^[0-9a-f-]{36}$/)
  t.equal(inline.Creatives.Creative.Linear.Duration, '00:00:15.000')
  t.equal(inline.Creatives.Creative.Linear.MediaFiles.MediaFile['#text'], 'https://cdn.example.com/playfield/house-ad.mp4')
  t.equal(inline.Creatives.Creative.Linear.MediaFiles.MediaFile['@_type'], 'video/mp4')
  const impression = new URL(inline.Impression['#text'])
  t.equal(impression.origin + impression.pathname, 'https://ads.example.test/impression')
  t.same(Object.fromEntries([...impression.searchParams].filter(([k]) => k in base)),
    { ...base, username: 'builtin-user', sdk_version: '7.1' })
  t.equal(impression.searchParams.get('ad_serving_id'), inline.AdServingId)
  t.same(await stats(app, 'username=builtin-user'),
    { status: 200, body: { success: true, 'builtin-user': { impressions: 0, ad_requests: 1, fill_rate: 0 } } })
})

t.test('the built-in ad escapes configured text for XML', async (t) => {
  const app = await build(t, {
    config: { ADS_AD_TITLE: 'Tom & Jerry <"special">', ADS_MEDIA_URL: 'https://cdn.example.com/a.mp4?x=1&y=2' }
  })
  const res = await app.inject(`/ad?${qs({ ...base, username: 'esc' })}`)
  t.match(res.body, '<AdTitle>Tom &amp; Jerry &lt;&quot;special&quot;&gt;</AdTitle>')
  const inline = parser.parse(res.body).VAST.Ad.InLine
  t.match(res.body, '>https://cdn.example.com/a.mp4?x=1&amp;y=2</MediaFile>')
  t.equal(inline.Creatives.Creative.Linear.MediaFiles.MediaFile['#text'], 'https://cdn.example.com/a.mp4?x=1&y=2')
})

t.test('without an ad to serve GET /ad answers an empty VAST and counts a no-fill beside the request', async (t) => {
  const app = await build(t, { config: { ADS_BUILTIN_AD: 'false' } })
  const res = await app.inject(`/ad?${qs({ ...base, username: 'nofill', sdk_version: '9.9' })}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/xml')
  t.equal(res.body.trim(), '<?xml version="1.0" encoding="UTF-8"?>\n<VAST version="4.2"/>')
  t.same(await stats(app, 'username=nofill&include=no_fills'),
    { status: 200, body: { success: true, nofill: { impressions: 0, ad_requests: 1, fill_rate: 0, no_fills: 1 } } })
  t.same(await stats(app, 'sdk=9.9'),
    { status: 200, body: { success: true, 9.9: { impressions: 0, ad_requests: 1, fill_rate: 0 } } })
})

t.test('GET /impression counts one impression per call for the username and the SDK version', async (t) => {
  const app = await build(t)
  const p = { ...base, username: 'imp-user', sdk_version: '3.0' }
  // Plain impressions count for a username / SDK version that asked for an ad.
  await app.inject(`/ad?${qs(p)}`)
  await app.inject(`/ad?${qs(p)}`)
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(`/impression?${qs(p)}`)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { success: true, message: 'Successfully fetched' })
  }
  t.same(await stats(app, 'username=imp-user'),
    { status: 200, body: { success: true, 'imp-user': { impressions: 3, ad_requests: 2, fill_rate: 1.5 } } })
  t.same(await stats(app, 'sdk=3.0'),
    { status: 200, body: { success: true, '3.0': { impressions: 3, ad_requests: 2, fill_rate: 1.5 } } })
})

t.test('a user named 1.0 and SDK version 1.0 are counted apart', async (t) => {
  const app = await build(t)
  await app.inject(`/ad?${qs({ ...base, username: '1.0', sdk_version: '2.0' })}`)
  await app.inject(`/impression?${qs({ ...base, username: '1.0', sdk_version: '2.0' })}`)
  await app.inject(`/ad?${qs({ ...base, username: 'someone', sdk_version: '1.0' })}`)
  await app.inject(`/ad?${qs({ ...base, username: 'someone', sdk_version: '1.0' })}`)
  t.same(await stats(app, 'username=1.0'),
    { status: 200, body: { success: true, '1.0': { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
  t.same(await stats(app, 'sdk=1.0'),
    { status: 200, body: { success: true, '1.0': { impressions: 0, ad_requests: 2, fill_rate: 0 } } })
})

t.test('partial data gives zeros for requests without impressions; impressions without a request count nothing', async (t) => {
  const app = await build(t)
  await app.inject(`/ad?${qs({ ...base, username: 'only-requests', sdk_version: '4.0' })}`)
  await app.inject(`/impression?${qs({ ...base, username: 'only-impressions', sdk_version: '4.1' })}`)
  t.same(await stats(app, 'username=only-requests'),
    { status: 200, body: { success: true, 'only-requests': { impressions: 0, ad_requests: 1, fill_rate: 0 } } })
  // A plain impression never creates counters (issue #17: anonymous callers must not grow Redis without bound).
  t.same(await stats(app, 'username=only-impressions'),
    { status: 404, body: { success: false, message: 'only-impressions not found' } })
  t.same(await stats(app, 'sdk=4.1'), { status: 404, body: { success: false, message: '4.1 not found' } })
})

t.test('GET /statistics uses whichever of username and sdk comes first in the query string', async (t) => {
  const app = await build(t)
  await app.inject(`/ad?${qs({ ...base, username: 'first', sdk_version: '5.0' })}`)
  await app.inject(`/impression?${qs({ ...base, username: 'other', sdk_version: '5.0' })}`)
  t.same(await stats(app, 'username=first&sdk=5.0'),
    { status: 200, body: { success: true, first: { impressions: 0, ad_requests: 1, fill_rate: 0 } } })
  t.same(await stats(app, 'sdk=5.0&username=first'),
    { status: 200, body: { success: true, '5.0': { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
})

t.test('GET /statistics answers 400 without a filter and 404 for an unknown value', async (t) => {
  const app = await build(t)
  t.same(await stats(app, ''),
    { status: 400, body: { success: false, message: "following params are required ['username', 'sdk']" } })
  t.same(await stats(app, 'include=no_fills'),
    { status: 400, body: { success: false, message: "following params are required ['username', 'sdk']" } })
  t.same(await stats(app, 'username='), { status: 400, body: { success: false, message: 'username must not be empty' } })
  t.same(await stats(app, 'username=nobody-here'), { status: 404, body: { success: false, message: 'nobody-here not found' } })
  t.same(await stats(app, 'sdk=0.0.1'), { status: 404, body: { success: false, message: '0.0.1 not found' } })
})

t.test('missing parameters get 400 listing them in the documented order, on /ad and /impression', async (t) => {
  const app = await build(t)
  const cases: Array<[Params, string]> = [
    [without('sdk_version', 'username'), "['sdk_version', 'username']"],
    [without('country_code', 'session_id'), "['session_id', 'country_code']"],
    [without('platform'), "['platform']"],
    [{}, "['sdk_version', 'session_id', 'platform', 'username', 'country_code']"]
  ]
  for (const path of ['/ad', '/impression']) {
    for (const [params, list] of cases) {
      const res = await app.inject(`${path}?${qs(params)}`)
      t.equal(res.statusCode, 400, `${path} ${list}`)
      t.same(res.json(), { success: false, message: `following params are required ${list}` })
    }
  }
  t.same(await stats(app, 'username=Jack'), { status: 404, body: { success: false, message: 'Jack not found' } }, 'nothing counted')
})

t.test('invalid parameter values get a 400 naming the problem', async (t) => {
  const app = await build(t)
  const cases: Array<[Params | string, string]> = [
    [{ ...base, username: '' }, 'username must not be empty'],
    [{ ...base, session_id: 'x'.repeat(129) }, 'session_id must be at most 128 characters'],
    [{ ...base, platform: 'and\u0000roid' }, 'platform must not contain control characters'],
    [{ ...base, country_code: 'USA' }, 'country_code must be two letters (ISO 3166-1 alpha-2)'],
    [{ ...base, country_code: 'U1' }, 'country_code must be two letters (ISO 3166-1 alpha-2)'],
    [{ ...base, sdk_version: 'latest' }, 'sdk_version must be a dotted version such as 1.0 or 2.3.1'],
    [{ ...base, sdk_version: '1..0' }, 'sdk_version must be a dotted version such as 1.0 or 2.3.1'],
    [{ ...base, username: 'success' }, 'username "success" is reserved'],
    [`${qs(base)}&username=Jill`, 'username must be given once']
  ]
  for (const path of ['/ad', '/impression']) {
    for (const [params, message] of cases) {
      const res = await app.inject(`${path}?${typeof params === 'string' ? params : qs(params)}`)
      t.equal(res.statusCode, 400, `${path}: ${message}`)
      t.same(res.json(), { success: false, message })
    }
  }
})

t.test('a signed impression from a served ad counts once; replays answer 200 without counting', async (t) => {
  const app = await build(t)
  const p = { ...base, username: 'signed-user', sdk_version: '6.0' }
  const ad = await app.inject(`/ad?${qs(p)}`)
  const path = impressionPath(ad.body)
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(path)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { success: true, message: 'Successfully fetched' })
  }
  t.same(await stats(app, 'username=signed-user'),
    { status: 200, body: { success: true, 'signed-user': { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
  t.same(await stats(app, 'sdk=6.0'),
    { status: 200, body: { success: true, '6.0': { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
})

t.test('a signed impression counted for the user but not for the SDK version is completed by the retry, once each',
  async (t) => {
    const app = await build(t)
    const p = { ...base, username: 'half-user', sdk_version: '6.1' }
    const path = impressionPath((await app.inject(`/ad?${qs(p)}`)).body)
    const id = new URLSearchParams(path.split('?')[1]).get('ad_serving_id')!
    // The user's step ran and the SDK version's did not (a crash or failover between them), so the request failed.
    const redis = await redisClient(t)
    await redis.set(impressionKey(userKey('half-user'), id), '1', 'EX', 60)
    await redis.hincrby(userKey('half-user'), 'impressions', 1)
    for (let i = 0; i < 2; i++) t.equal((await app.inject(path)).statusCode, 200)
    t.same(await stats(app, 'username=half-user'),
      { status: 200, body: { success: true, 'half-user': { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
    t.same(await stats(app, 'sdk=6.1'),
      { status: 200, body: { success: true, 6.1: { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
  })

t.test('each username and SDK version is its own hash tag, so the counters spread over the masters', async (t) => {
  const app = await build(t)
  const owners = Array.from({ length: 12 }, (_, i) => ({ ...base, username: `spread-${i}`, sdk_version: `8.${i}` }))
  for (const p of owners) {
    t.equal((await app.inject(`/ad?${qs(p)}`)).statusCode, 200)
    t.equal((await app.inject(`/impression?${qs(p)}`)).statusCode, 200)
  }
  const keys = owners.flatMap(p => [userKey(p.username), sdkKey(p.sdk_version)])
  t.same(keys.slice(0, 2), ['ads:{u:spread-0}', 'ads:{sdk:8.0}'])
  t.ok(new Set(keys.map(keySlot)).size >= 20, 'owners lie in different slots')
  const redis = await redisClient(t)
  await redis.ping() // a cluster client knows which nodes are masters once connected
  const masters = redis instanceof Cluster ? redis.nodes('master') : [redis]
  const perMaster = await Promise.all(masters.map(async m => (await allKeys(m, 'ads:{*:spread-*}')).length +
    (await allKeys(m, 'ads:{sdk:8.*}')).length))
  t.equal(perMaster.reduce((a, b) => a + b, 0), 24, `every counter written once (${perMaster.join(', ')} per master)`)
  if (ON_CLUSTER) t.ok(perMaster.filter(n => n > 0).length >= 2, 'on at least 2 masters')
  for (const [i, p] of owners.entries()) {
    t.same(await stats(app, `username=${p.username}`),
      { status: 200, body: { success: true, [p.username]: { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
    t.same(await stats(app, `sdk=8.${i}`),
      { status: 200, body: { success: true, [`8.${i}`]: { impressions: 1, ad_requests: 1, fill_rate: 1 } } })
  }
})

t.test('counters of the single-node layout renamed by legacyKey are read after the upgrade',
  { skip: ON_CLUSTER && 'migrate-keys runs on the single Redis that holds the old data' }, async (t) => {
    const redis = await redisClient(t)
    await redis.hset('ads:user:old}user', { ad_requests: 4, impressions: 3, no_fills: 1 })
    await redis.hset('ads:sdk:0.1', { ad_requests: 4, impressions: 3 })
    await redis.set('ads:imp:0123456789', '1', 'EX', 60)
    t.same(['ads:user:old}user', 'ads:sdk:0.1', 'ads:imp:0123456789', 'lb:x'].map(legacyKey),
      ['ads:{u:old}user}', 'ads:{sdk:0.1}', undefined, undefined])
    for (const old of ['ads:user:old}user', 'ads:sdk:0.1']) await redis.rename(old, legacyKey(old)!)
    const app = await build(t)
    t.same(await stats(app, 'username=old}user&include=no_fills'), {
      status: 200,
      body: { success: true, 'old}user': { impressions: 3, ad_requests: 4, fill_rate: 0.75, no_fills: 1 } }
    })
    await app.inject(`/ad?${qs({ ...base, username: 'old}user', sdk_version: '0.1' })}`)
    t.same(await stats(app, 'sdk=0.1'),
      { status: 200, body: { success: true, 0.1: { impressions: 3, ad_requests: 5, fill_rate: 0.6 } } })
  })

t.test('forged, malformed or incomplete signed impressions are refused and not counted', async (t) => {
  const app = await build(t)
  const p = { ...base, username: 'victim', sdk_version: '6.1' }
  const path = impressionPath((await app.inject(`/ad?${qs(p)}`)).body)
  const url = new URL(path, 'http://x')

  const forgedUser = new URL(url); forgedUser.searchParams.set('username', 'attacker')
  const forgedId = new URL(url); forgedId.searchParams.set('ad_serving_id', '00000000-0000-0000-0000-000000000000')
  const forgedSig = new URL(url); forgedSig.searchParams.set('sig', 'A'.repeat(43))
  for (const u of [forgedUser, forgedId, forgedSig]) {
    const res = await app.inject(u.pathname + u.search)
    t.equal(res.statusCode, 403)
    t.same(res.json(), { success: false, message: 'impression signature does not match' })
  }
  const shortSig = new URL(url); shortSig.searchParams.set('sig', 'abc')
  const noSig = new URL(url); noSig.searchParams.delete('sig')
  const badTs = new URL(url); badTs.searchParams.set('ts', 'yesterday')
  const expectations: Array<[URL, string]> = [
    [shortSig, 'sig is malformed'],
    [noSig, "following params are required ['sig']"],
    [badTs, 'ts must be a Unix time in seconds']
  ]
  for (const [u, message] of expectations) {
    const res = await app.inject(u.pathname + u.search)
    t.equal(res.statusCode, 400)
    t.same(res.json(), { success: false, message })
  }
  t.same(await stats(app, 'username=victim'),
    { status: 200, body: { success: true, victim: { impressions: 0, ad_requests: 1, fill_rate: 0 } } })
  t.same(await stats(app, 'username=attacker'), { status: 404, body: { success: false, message: 'attacker not found' } })
})

t.test('a signed impression URL older than ADS_IMPRESSION_TTL_S is refused', async (t) => {
  const clock = manualClock(Date.UTC(2026, 0, 1))
  const app = await build(t, { clock, config: { ADS_IMPRESSION_TTL_S: '3600' } })
  const p = { ...base, username: 'late', sdk_version: '6.2' }
  const path = impressionPath((await app.inject(`/ad?${qs(p)}`)).body)
  clock.advance(3601 * 1000)
  const res = await app.inject(path)
  t.equal(res.statusCode, 403)
  t.same(res.json(), { success: false, message: 'impression URL has expired' })
  t.same(await stats(app, 'username=late'),
    { status: 200, body: { success: true, late: { impressions: 0, ad_requests: 1, fill_rate: 0 } } })
})

t.test('a signed impression URL from another secret is refused', async (t) => {
  const issuer = await build(t, { config: { ADS_SIGNING_SECRET: 'some-other-secret-0123' } })
  const path = impressionPath((await issuer.inject(`/ad?${qs({ ...base, username: 'cross' })}`)).body)
  const app = await build(t)
  const res = await app.inject(path)
  t.equal(res.statusCode, 403)
  t.same(res.json(), { success: false, message: 'impression signature does not match' })
})

t.test('without PUBLIC_BASE_URL the Impression URL points at the listen address, never at the Host header', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const res = await app.inject({ url: `/ad?${qs({ ...base, username: 'host-user' })}`, headers: { host: 'games.example.org:8080' } })
  const impression = parser.parse(res.body).VAST.Ad.InLine.Impression['#text'] as string
  t.match(impression, new RegExp(`^http://127\\.0\\.0\\.1:${port}/impression\\?sdk_version=0\\.9&`))
})
