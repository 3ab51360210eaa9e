import { createHmac } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { manualClock } from '../../src/clock.js'
import { DAY_MS } from '../../src/plugins/leaderboard/service.js'
import { buildClean, NOW, OLD, RECENT } from '../helpers/leaderboard.js'

type Test = import('tap').Test
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
const ADMIN = basic('admin', 'admin-password')
const SECRET = 'test-jwt-secret-test-jwt-secret-0123456789'
const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')
function forge (payload: object, secret: string, alg = 'HS256') {
  const head = b64url({ alg, typ: 'JWT' })
  const body = b64url(payload)
  if (alg === 'none') return `${head}.${body}.`
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`
}

async function setup (t: Test, config: Record<string, string> = {}) {
  const clock = manualClock(NOW)
  const app = await buildClean(t, { clock, config })
  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt as string
  const headers = { authorization: `Bearer ${jwt}` }
  const post = (payload: unknown, url = '/scores') => app.inject({ method: 'POST', url, headers, payload: payload as object })
  const get = (url: string) => app.inject({ method: 'GET', url, headers })
  return { app, clock, jwt, headers, post, get }
}

async function loadFixture (post: (p: unknown) => Promise<unknown>, clock: ReturnType<typeof manualClock>) {
  await post(RECENT)
  clock.set(NOW - 31 * DAY_MS)
  await post(OLD.map(e => [e.name, e.score])) // the original pair form
  clock.set(NOW)
}

const rows = (app: FastifyInstance) => app.redis.zrange('lb:{default}:all', 0, -1, 'WITHSCORES')

t.test('POST /scores answers each entry, in input order, with its standing right after it was applied', async (t) => {
  const { post } = await setup(t)
  const res = await post([{ name: 'a', score: 5 }, ['b', 9], { name: 'a', score: 3 }])
  t.equal(res.statusCode, 200)
  t.same(res.json(), [
    { name: 'a', score: 5, rank: 1, window_rank: 1 },
    { name: 'b', score: 9, rank: 1, window_rank: 1 },
    { name: 'a', score: 5, rank: 2, window_rank: 2 }
  ])
})

t.test('GET /leaderboard: the original fixture on both boards, with the original last_30_days flag', async (t) => {
  const { post, get, clock } = await setup(t)
  await loadFixture(post, clock)
  const all = await get('/leaderboard')
  t.equal(all.statusCode, 200)
  t.same(all.json(), {
    results: [
      { name: 'old2', score: 300, rank: 1 }, { name: 'old1', score: 200, rank: 2 }, { name: 'chupa', score: 40, rank: 3 },
      { name: 'kiki', score: 30, rank: 4 }, { name: 'sava', score: 20, rank: 5 }, { name: 'tuta', score: 10, rank: 6 }
    ],
    around_me: [],
    next_page: 0,
    total: 6
  })
  const expected30 = ['chupa', 'kiki', 'sava', 'tuta']
  for (const url of ['/leaderboard?window=last_30_days', '/leaderboard?last_30_days', '/leaderboard?last_30_days=true']) {
    const res = await get(url)
    t.same(res.json().results.map((r: { name: string }) => r.name), expected30, url)
    t.equal(res.json().total, 4, url)
  }
  t.equal((await get('/leaderboard?last_30_days=false')).json().total, 6)
  t.equal((await get('/leaderboard?last_30_days&window=all_time')).statusCode, 400)
  t.equal((await get('/leaderboard?window=weekly')).statusCode, 400)
})

t.test('POST /scores refuses a batch with any invalid entry, naming it, and writes nothing', async (t) => {
  const { app, post } = await setup(t, { MAX_BATCH: '3' })
  const cases: Array<[unknown, string]> = [
    [[{ name: 'ok', score: 1 }, { name: 'x', score: '10' }], 'entries[1]: score must be an integer between 0 and 4294967295'],
    [[{ name: 'ok', score: 1 }, { name: 'x', score: -1 }], 'entries[1]: score must be an integer between 0 and 4294967295'],
    [[{ name: 'x', score: 4294967296 }], 'entries[0]: score must be an integer between 0 and 4294967295'],
    [[{ name: 'x', score: true }], 'entries[0]: score must be an integer between 0 and 4294967295'],
    [[{ name: 'x', score: 1.5 }], 'entries[0]: score must be an integer between 0 and 4294967295'],
    [[['ok', 1], ['', 2]], 'entries[1]: name must not be empty'],
    [[{ name: 7, score: 2 }], 'entries[0]: name must be a string'],
    [[{ score: 2 }], 'entries[0]: name must be a string'],
    [[['x']], 'entries[0]: a pair must be [name, score]'],
    [[null], 'entries[0]: must be { name, score } or [name, score]'],
    [[], 'body must be an array of 1 to 3 entries'],
    [[['a', 1], ['b', 2], ['c', 3], ['d', 4]], 'body must be an array of 1 to 3 entries']
  ]
  for (const [payload, message] of cases) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().message, message, JSON.stringify(payload))
  }
  t.equal((await post({ name: 'x', score: 1 })).statusCode, 400, 'an object body is not an array')
  t.same(await rows(app), [], 'nothing was written')
})

t.test('100 concurrent POST /scores for one player keep exactly the maximum', async (t) => {
  const { app, post } = await setup(t)
  const scores = Array.from({ length: 100 }, (_, i) => (i * 7919) % 1009)
  const codes = await Promise.all(scores.map(async s => (await post([{ name: 'racer', score: s }])).statusCode))
  t.same(new Set(codes), new Set([200]))
  t.same(await rows(app), ['racer', String(-Math.max(...scores))])
})

t.test('GET /leaderboard paging: next_page, around_me, past-the-end and unknown names', async (t) => {
  const { post, get } = await setup(t, { PAGE_SIZE: '3' })
  t.same((await get('/leaderboard?page=1')).json(), { results: [], around_me: [], next_page: 0, total: 0 })
  t.equal((await get('/leaderboard?page=2')).statusCode, 400)
  await post(Array.from({ length: 8 }, (_, i) => ({ name: `p${i + 1}`, score: i === 3 ? 96 : 100 - i })))
  const first = (await get('/leaderboard?name=p7')).json()
  t.same(first.results, [{ name: 'p1', score: 100, rank: 1 }, { name: 'p2', score: 99, rank: 2 }, { name: 'p3', score: 98, rank: 3 }])
  // p5 ties with p4 (listed before it by name): the shared rank holds even though p4 is not in around_me.
  t.same(first.around_me, [
    { name: 'p5', score: 96, rank: 4 }, { name: 'p6', score: 95, rank: 6 }, { name: 'p7', score: 94, rank: 7 },
    { name: 'p8', score: 93, rank: 8 }
  ])
  t.equal(first.next_page, 2)
  t.equal(first.total, 8)
  t.same((await get('/leaderboard?page=2&name=p5')).json().around_me, [], 'the player is on the requested page')
  const last = (await get('/leaderboard?page=3&name=p2')).json()
  t.same(last.results.map((r: { name: string }) => r.name), ['p7', 'p8'])
  t.same(last.around_me, [])
  t.equal(last.next_page, 0)
  const past = await get('/leaderboard?page=4')
  t.equal(past.statusCode, 400)
  t.same(past.json(), { message: 'page 4 is past the last page (3) of the all-time board', code: 'PLAYFIELD_INVALID_ARGUMENT' })
  // As the original gateway answered it: an unknown name in a listing is bad input.
  const ghost = await get('/leaderboard?name=ghost')
  t.equal(ghost.statusCode, 400)
  t.same(ghost.json(), { message: 'player "ghost" is not on the all-time board', code: 'PLAYFIELD_INVALID_ARGUMENT' })
  t.equal((await get('/leaderboard?page=-1')).statusCode, 400)
})

t.test('POST /scores and GET /leaderboard refuse missing, malformed, expired, tampered and alg=none tokens', async (t) => {
  const { app } = await setup(t)
  const now = Math.floor(Date.now() / 1000)
  const valid = forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, SECRET)
  const bad: Record<string, string | undefined> = {
    missing: undefined,
    basic: ADMIN,
    garbage: 'Bearer not.a.jwt',
    expired: `Bearer ${forge({ sub: 'admin', admin: true, iat: now - 4000, exp: now - 2000 }, SECRET)}`,
    tampered: `Bearer ${valid.replace(/\.[^.]+\./, '.' + b64url({ sub: 'someone', admin: true, iat: now, exp: now + 600 }) + '.')}`,
    none: `Bearer ${forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, SECRET, 'none')}`,
    wrongSecret: `Bearer ${forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, 'another-secret-another-secret-0000')}`
  }
  for (const [name, authorization] of Object.entries(bad)) {
    const headers = authorization ? { authorization } : {}
    const post = await app.inject({ method: 'POST', url: '/scores', headers, payload: [['a', 1]] })
    t.equal(post.statusCode, 401, `POST ${name}`)
    t.equal(post.json().code, 'PLAYFIELD_UNAUTHENTICATED', `POST ${name}`)
    t.equal((await app.inject({ method: 'GET', url: '/leaderboard', headers })).statusCode, 401, `GET ${name}`)
  }
  t.same(await rows(app), [], 'nothing was written')
  const ok = await app.inject({ method: 'POST', url: '/scores', headers: { authorization: `Bearer ${valid}` }, payload: [['a', 1]] })
  t.equal(ok.statusCode, 200, 'a correctly signed token passes')
})

t.test('DELETE /players/:name is admin-only and removes the player from every board', async (t) => {
  const { app, post, get, jwt, clock } = await setup(t)
  await loadFixture(post, clock)
  await post([['kiki', 5]], '/scores?board=cup')
  await app.inject({ method: 'POST', url: '/accounts', headers: { authorization: ADMIN }, payload: { username: 'player', password: 'player-pass-1' } })
  t.equal((await app.inject({ method: 'DELETE', url: '/players/kiki' })).statusCode, 401)
  t.equal((await app.inject({ method: 'DELETE', url: '/players/kiki', headers: { authorization: basic('player', 'player-pass-1') } })).statusCode, 403)
  const res = await app.inject({ method: 'DELETE', url: '/players/kiki', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'kiki', boards: ['cup', 'default'] })
  t.same((await get('/leaderboard')).json().results.map((r: { name: string }) => r.name), ['old2', 'old1', 'chupa', 'sava', 'tuta'])
  t.same((await get('/leaderboard?window=last_30_days')).json().results.map((r: { name: string }) => r.name), ['chupa', 'sava', 'tuta'])
  t.equal((await get('/leaderboard?board=cup')).json().total, 0)
  const again = await app.inject({ method: 'DELETE', url: '/players/kiki', headers: { authorization: ADMIN } })
  t.equal(again.statusCode, 404)
})
