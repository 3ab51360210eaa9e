import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { XMLParser } from 'fast-xml-parser'
import type { FastifyInstance } from 'fastify'
import { build } from '../helpers/app.js'

type Test = import('tap').Test

// The VAST upstream is a real HTTP server on loopback, one path per behaviour.

const UPSTREAM_INLINE = `<?xml version="1.0" encoding="UTF-8"?>
<VAST version="4.1">
  <Ad id="up-1">
    <InLine>
      <AdSystem>upstream-exchange</AdSystem>
      <Impression><![CDATA[https://exchange.example.com/imp?id=1]]></Impression>
      <AdTitle>Upstream ad</AdTitle>
      <Creatives><Creative><Linear><Duration>00:00:30</Duration><MediaFiles>
        <MediaFile delivery="progressive" type="video/mp4" width="640" height="360">https://exchange.example.com/ad.mp4</MediaFile>
      </MediaFiles></Linear></Creative></Creatives>
    </InLine>
  </Ad>
</VAST>`

const UPSTREAM_WRAPPER = `<VAST version="4.0"><Ad id="w"><Wrapper><AdSystem>wrap</AdSystem>
<VASTAdTagURI>https://exchange.example.com/next</VASTAdTagURI></Wrapper></Ad></VAST>`

interface Route { status?: number, type?: string, body?: string, delayMs?: number, bodyDelayMs?: number }
const routes: Record<string, Route> = {
  '/fast': { body: UPSTREAM_INLINE },
  '/wrapper': { body: UPSTREAM_WRAPPER },
  '/slow': { body: UPSTREAM_INLINE, delayMs: 20_000 },
  '/slow-body': { body: UPSTREAM_INLINE, bodyDelayMs: 20_000 },
  '/error': { status: 500, body: 'internal error' },
  '/not-xml': { type: 'text/plain', body: '{"ad": "this is json"}' },
  '/not-vast': { type: 'text/html', body: '<html><body><p>hello</p></body></html>' },
  '/empty': { body: '<VAST version="4.2"/>' }
}

let upstream: Server
let upstreamBase: string
const timers = new Set<NodeJS.Timeout>()

t.before(async () => {
  upstream = createServer((req, res) => {
    const route = routes[req.url ?? '']
    if (!route) { res.writeHead(404).end(); return }
    const later = (ms: number | undefined, fn: () => void) => {
      if (!ms) return fn()
      const timer = setTimeout(() => { timers.delete(timer); fn() }, ms)
      timers.add(timer)
    }
    later(route.delayMs, () => {
      res.writeHead(route.status ?? 200, { 'content-type': route.type ?? 'application/xml' })
      const body = route.body ?? ''
      if (!route.bodyDelayMs) { res.end(body); return }
      res.write(body.slice(0, 20))
      later(route.bodyDelayMs, () => res.end(body.slice(20)))
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  upstreamBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})

t.teardown(async () => {
  for (const timer of timers) clearTimeout(timer)
  upstream.closeAllConnections()
  await new Promise(resolve => upstream.close(resolve))
})

const parser = new XMLParser({ ignoreAttributes: false, ignoreDeclaration: true })
let n = 0

async function requestAd (app: FastifyInstance) {
  const username = `up-user-${++n}`
  const query = new URLSearchParams({ sdk_version: '2.5', session_id: 's', platform: 'ios', username, country_code: 'DE' })
  const res = await app.inject(`/ad?${query.toString()}`)
  const stats = (await app.inject(`/statistics?username=${username}&include=no_fills`)).json()[username]
  return { res, stats, username }
}

// A generous timeout everywhere (a loaded CI machine must not turn a fast upstream into a timeout), except for
// the slow paths, which stall far longer than their short timeout.
const appFor = (t: Test, path: string, extra: Record<string, string> = {}) => build(t, {
  config: { VAST_UPSTREAM_URL: `${upstreamBase}${path}`, VAST_TIMEOUT_MS: path.startsWith('/slow') ? '300' : '10000', ...extra }
})

t.test('a fast upstream VAST is served with our Impression added to its InLine', async (t) => {
  const app = await appFor(t, '/fast')
  const { res, stats } = await requestAd(app)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/xml')
  t.equal(res.headers['x-ad-source'], 'upstream')
  const inline = parser.parse(res.body).VAST.Ad.InLine
  t.equal(inline.AdSystem, 'upstream-exchange')
  t.equal(inline.Impression.length, 2)
  t.equal(inline.Impression[0], 'https://exchange.example.com/imp?id=1')
  t.equal(inline.Impression[1]['@_id'], 'playfield')
  const ours = new URL(inline.Impression[1]['#text'])
  t.equal(ours.pathname, '/impression')
  t.same(stats, { impressions: 0, ad_requests: 1, fill_rate: 0, no_fills: 0 })

  const counted = await app.inject(ours.pathname + ours.search)
  t.same(counted.json(), { success: true, message: 'Successfully fetched' })
  await app.inject(ours.pathname + ours.search)
  const username = ours.searchParams.get('username')!
  t.same((await app.inject(`/statistics?username=${username}`)).json(),
    { success: true, [username]: { impressions: 1, ad_requests: 1, fill_rate: 1 } })
})

t.test('an upstream Wrapper gets our Impression too', async (t) => {
  const app = await appFor(t, '/wrapper')
  const { res } = await requestAd(app)
  t.equal(res.headers['x-ad-source'], 'upstream')
  const wrapper = parser.parse(res.body).VAST.Ad.Wrapper
  t.equal(wrapper.VASTAdTagURI, 'https://exchange.example.com/next')
  t.equal(wrapper.Impression['@_id'], 'playfield')
})

const fallbacks: Array<[string, string, string]> = [
  ['an upstream slower than VAST_TIMEOUT_MS', '/slow', 'timeout'],
  ['an upstream whose body stalls beyond VAST_TIMEOUT_MS', '/slow-body', 'timeout'],
  ['an upstream answering 500', '/error', 'error'],
  ['an upstream answering something that is not XML', '/not-xml', 'invalid'],
  ['an upstream answering XML that is not VAST', '/not-vast', 'invalid'],
  ['an upstream answering an empty VAST (its own no-fill)', '/empty', 'empty'],
  ['an unreachable upstream', '/unknown-path', 'error']
]

for (const [what, path, outcome] of fallbacks) {
  t.test(`${what} falls back to the built-in ad and still counts the request`, async (t) => {
    const app = await appFor(t, path)
    const { res, stats } = await requestAd(app)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-ad-source'], 'builtin')
    const inline = parser.parse(res.body).VAST.Ad.InLine
    t.equal(inline.AdSystem, 'playfield')
    t.equal(inline.Impression['@_id'], 'playfield')
    t.same(stats, { impressions: 0, ad_requests: 1, fill_rate: 0, no_fills: 0 })
    const metrics = (await app.inject('/metrics')).body
    t.match(metrics, `playfield_ads_upstream_total{outcome="${outcome}"} 1`)
  })
}

t.test('a failing upstream without the built-in ad answers an empty VAST and counts a no-fill', async (t) => {
  const app = await appFor(t, '/error', { ADS_BUILTIN_AD: 'false' })
  const { res, stats } = await requestAd(app)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-ad-source'], 'none')
  t.same(parser.parse(res.body), { VAST: { '@_version': '4.2' } })
  t.same(stats, { impressions: 0, ad_requests: 1, fill_rate: 0, no_fills: 1 })
})

t.test('an upstream ad is served even with the built-in ad turned off', async (t) => {
  const app = await appFor(t, '/fast', { ADS_BUILTIN_AD: 'false' })
  const { res, stats } = await requestAd(app)
  t.equal(res.headers['x-ad-source'], 'upstream')
  t.equal(parser.parse(res.body).VAST.Ad.InLine.AdSystem, 'upstream-exchange')
  t.same(stats, { impressions: 0, ad_requests: 1, fill_rate: 0, no_fills: 0 })
})
