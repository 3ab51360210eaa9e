import t from 'tap'
import { XMLParser } from 'fast-xml-parser'
import { ConfigError, loadConfig } from '../../src/config.js'
import { build } from '../helpers/app.js'

// Findings: /metrics and /docs public in production; weak secrets accepted in production; the impression URL built
// from the Host header; POST /users/export open to CSRF through the browser's Basic-auth; very long URLs answered
// by the router with its own body echoing the path.

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const ADMIN = basic('admin', 'admin-password')
const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: 'production-jwt-secret-0123456789abcdef',
  ADS_SIGNING_SECRET: 'production-ads-secret-0123456789abcdef',
  SHAPES_SIGNATURE: 'production-shapes-signature-0123456789',
  PUBLIC_BASE_URL: 'https://play.example.com/',
  WORKERS_ENABLED: 'false'
}

t.test('production refuses secrets shorter than 32 bytes and a missing PUBLIC_BASE_URL, naming each', async (t) => {
  const err = t.throws(() => loadConfig({
    NODE_ENV: 'production',
    JWT_SECRET: 'j'.repeat(32),
    ADS_SIGNING_SECRET: 'a'.repeat(20),
    SHAPES_SIGNATURE: 'short-signature'
  })) as ConfigError
  t.type(err, ConfigError)
  t.match(err.message, /ADS_SIGNING_SECRET must be at least 32 bytes when NODE_ENV=production \(got 20\)/)
  t.match(err.message, /SHAPES_SIGNATURE must be at least 32 bytes when NODE_ENV=production \(got 15\)/)
  t.match(err.message, /PUBLIC_BASE_URL is required when NODE_ENV=production/)
  t.notMatch(err.message, /JWT_SECRET/, 'a long enough secret is not named')
  t.notMatch(err.message, /aaaa|short-signature/, 'secrets are not echoed')
  t.ok(loadConfig(PRODUCTION), 'long secrets and a public base URL start')
})

t.test('in production /metrics and /docs need admin credentials', async (t) => {
  const app = await build(t, { config: PRODUCTION })
  for (const url of ['/metrics', '/docs', '/docs/json']) {
    const anonymous = await app.inject(url)
    t.equal(anonymous.statusCode, 401, `${url} anonymous`)
    t.equal(anonymous.json().code, 'PLAYFIELD_UNAUTHENTICATED')
    const admin = await app.inject({ url, headers: { authorization: ADMIN } })
    t.ok(admin.statusCode === 200 || admin.statusCode === 302, `${url} as admin: ${admin.statusCode}`)
  }
  const player = await app.inject({ url: '/metrics', headers: { authorization: basic('nobody', 'wrong-password') } })
  t.equal(player.statusCode, 401)
  t.equal((await app.inject('/health/live')).statusCode, 200, 'health stays open for the orchestrator')
})

t.test('outside production /metrics stays open (development convenience)', async (t) => {
  const app = await build(t)
  t.equal((await app.inject('/metrics')).statusCode, 200)
})

t.test('the impression URL comes from PUBLIC_BASE_URL, never from the Host header', async (t) => {
  const app = await build(t, { config: PRODUCTION })
  const qs = new URLSearchParams({ sdk_version: '1.0', session_id: 's-1', platform: 'ios', username: 'hosty', country_code: 'US' })
  const res = await app.inject({ url: `/ad?${qs}`, headers: { host: 'evil.example.net' } })
  t.equal(res.statusCode, 200)
  const vast = new XMLParser({ ignoreAttributes: false }).parse(res.body)
  const impression = String(vast.VAST.Ad.InLine.Impression['#text'] ?? vast.VAST.Ad.InLine.Impression)
  t.match(impression, /^https:\/\/play\.example\.com\/impression\?/)
  t.notMatch(impression, /evil/)
})

t.test('state changes authenticated by Basic are refused from another site (CSRF); same-origin and Bearer pass', async (t) => {
  const app = await build(t)
  const exportWith = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/users/export', headers })
  const crossSite: Array<Record<string, string>> = [
    { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example.net' }, { origin: 'null' }
  ]
  for (const headers of crossSite) {
    const res = await exportWith({ authorization: ADMIN, ...headers })
    t.equal(res.statusCode, 403, `refused with ${JSON.stringify(headers)}`)
    t.match(res.json().message, /cross-site request with Basic credentials refused/)
  }
  t.equal((await exportWith({ authorization: ADMIN })).statusCode, 202, 'a script (no browser headers) passes')
  t.equal((await exportWith({ authorization: ADMIN, 'sec-fetch-site': 'same-origin' })).statusCode, 202, 'same-origin passes')
  t.equal((await exportWith({ authorization: ADMIN, origin: 'http://localhost:80' })).statusCode, 202, 'an Origin equal to the host passes')
  const { jwt } = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json()
  const bearer = await exportWith({ authorization: `Bearer ${jwt}`, 'sec-fetch-site': 'cross-site' })
  t.equal(bearer.statusCode, 202, 'a Bearer token is never sent by a browser on its own: no CSRF risk')
  t.equal((await app.inject({ url: '/admin/dead-letters', headers: { authorization: ADMIN, 'sec-fetch-site': 'cross-site' } })).statusCode,
    200, 'reads are not state changes')
})

t.test('a too long URL path parameter gets 414 with a JSON error body in the app shape', async (t) => {
  const app = await build(t)
  const res = await app.inject(`/categories/${'a'.repeat(5000)}/`)
  t.equal(res.statusCode, 414)
  t.same(res.json(), { message: 'a path parameter is longer than 100 characters', code: 'PLAYFIELD_URI_TOO_LONG' })
})
