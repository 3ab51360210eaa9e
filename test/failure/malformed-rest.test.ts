import t from 'tap'
import fc from 'fast-check'
import { build } from '../helpers/app.js'

// 10,000 generated REST requests over every route in the OpenAPI document: wrong types, huge numbers, deep JSON,
// huge bodies, bad UTF-8, missing fields, odd path parameters and headers. Nothing may answer 5xx or crash the
// process, and memory stays bounded.

const TOTAL = 10_000
const ADMIN = 'Basic ' + Buffer.from('admin:admin-password').toString('base64')

const scalar = fc.oneof(
  fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom(-1, 0, 2 ** 32, 2 ** 53 + 1, 1e308, -1e308, '9'.repeat(400), '', ' ', 'NaN', 'Infinity', '__proto__', '../..')
)
const anyJson = fc.jsonValue({ maxDepth: 4 })

function deep (depth: number, open: string, close: string) { return open.repeat(depth) + close.repeat(depth) }

type Req = { method: string, url: string, headers: Record<string, string>, payload?: string | Buffer }

function bodyArb (): fc.Arbitrary<{ payload: string | Buffer, contentType: string }> {
  const json = (v: unknown) => ({ payload: JSON.stringify(v), contentType: 'application/json' })
  return fc.oneof(
    { weight: 5, arbitrary: anyJson.map(json) },
    { weight: 3, arbitrary: fc.dictionary(fc.constantFrom('name', 'score', 'children', 'event', 'ts', 'parent_id', 'token', 'username', 'password', 'email'), scalar).map(json) },
    {
      weight: 2,
      arbitrary: fc.array(
        fc.oneof(scalar, fc.dictionary(fc.string({ maxLength: 10 }), scalar), fc.array(scalar, { maxLength: 3 })),
        { maxLength: 12 }
      ).map(json)
    },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20000 }).map(d => ({ payload: deep(d, '[', ']'), contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20000 }).map(d => ({ payload: deep(d, '{"children":[', ']}'), contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.constant({ payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), contentType: 'application/json' }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map(b => ({ payload: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(b), Buffer.from('"}')]), contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map(s => ({ payload: s, contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map(s => ({ payload: s, contentType: fc.sample(fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data', 'application/x-www-form-urlencoded'), 1)[0]! })) }
  )
}

t.test('10,000 malformed REST requests never answer 5xx and leave the app healthy', async (t) => {
  const app = await build(t)
  const doc = (await app.inject('/docs/json')).json() as { paths: Record<string, Record<string, unknown>> }
  const routes: Array<{ method: string, path: string }> = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) routes.push({ method: method.toUpperCase(), path })
  }
  t.ok(routes.length >= 8, `${routes.length} routes under test`)
  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt as string

  const requestArb: fc.Arbitrary<Req> = fc.record({
    route: fc.constantFrom(...routes),
    param: fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constantFrom('0', '-1', '1.5', '99999999999999999999', 'x'.repeat(3000), '%00', '%ff', '..%2f..')),
    query: fc.dictionary(fc.constantFrom('page', 'name', 'window', 'limit', 'cursor', 'username', 'sdk', 'sdk_version', 'session_id', 'platform', 'country_code', 'last_30_days', 'hours', 'x'), scalar.map(String), { maxKeys: 5 }),
    auth: fc.constantFrom<'none' | 'basic' | 'jwt' | 'garbage'>('none', 'basic', 'jwt', 'garbage'),
    body: bodyArb(),
    withBody: fc.boolean()
  }).map(({ route, param, query, auth, body, withBody }) => {
    const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(param).slice(0, 3000))
    const qs = new URLSearchParams(query).toString()
    const headers: Record<string, string> = {}
    if (auth === 'basic') headers.authorization = ADMIN
    if (auth === 'jwt') headers.authorization = `Bearer ${jwt}`
    if (auth === 'garbage') headers.authorization = 'Bearer \u00ff\u00fe garbage'
    const req: Req = { method: route.method, url: qs ? `${path}?${qs}` : path, headers }
    if (withBody && route.method !== 'GET' && route.method !== 'HEAD') {
      req.payload = body.payload
      headers['content-type'] = body.contentType
    }
    return req
  })

  const requests = fc.sample(requestArb, { numRuns: TOTAL, seed: 20261122 })
  const heapBefore = process.memoryUsage().heapUsed
  const failures: string[] = []
  const byStatus = new Map<number, number>()
  for (let i = 0; i < requests.length; i += 25) {
    const batch = requests.slice(i, i + 25)
    const responses = await Promise.all(batch.map(r => app.inject(r as any)))
    responses.forEach((res, j) => {
      byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode >= 500 && failures.length < 10) {
        const r = batch[j]!
        failures.push(`${r.method} ${r.url.slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)} (body: ${String(r.payload ?? '').slice(0, 80)})`)
      }
    })
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(byStatus))}`)
  t.same(failures, [], 'no 5xx')
  t.equal([...byStatus.values()].reduce((a, b) => a + b, 0), TOTAL)
  const grown = process.memoryUsage().heapUsed - heapBefore
  t.ok(grown < 300 * 1024 * 1024, `heap grew ${Math.round(grown / 2 ** 20)} MiB (bounded)`)
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'still ready')
})

t.test('Infinity in an integer query parameter is a 400 naming the parameter, not a 500', async (t) => {
  const app = await build(t)
  for (const value of ['Infinity', '-Infinity']) {
    const res = await app.inject({ url: `/admin/dead-letters?limit=${value}`, headers: { authorization: ADMIN } })
    t.equal(res.statusCode, 400, value)
    t.same(res.json(), { message: 'querystring/limit must be a finite number', code: 'PLAYFIELD_INVALID_ARGUMENT' })
  }
})
