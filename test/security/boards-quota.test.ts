import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { allKeys } from '../helpers/app.js'
import { buildClean } from '../helpers/leaderboard.js'

// Issue #17, bounded storage per account: one account can't take every board slot (MAX_BOARDS) for everyone,
// and reading a board that does not exist writes nothing.

async function as (app: FastifyInstance, name: string, admin = false) {
  const { jwt } = await app.auth.signJwt({ username: name, admin })
  const headers = { authorization: `Bearer ${jwt}` }
  return {
    post: (board: string) => app.inject({ method: 'POST', url: `/scores?board=${board}`, headers, payload: [{ name: 'p', score: 1 }] }),
    get: (url: string) => app.inject({ url, headers })
  }
}

t.test('an account creates at most MAX_BOARDS_PER_ACCOUNT boards; others and admins are not held back', async (t) => {
  const app = await buildClean(t, { config: { MAX_BOARDS_PER_ACCOUNT: '3' } })
  const mallory = await as(app, 'mallory')
  for (const b of ['m1', 'm2', 'm3']) t.equal((await mallory.post(b)).statusCode, 200, b)
  const refused = await mallory.post('m4')
  t.equal(refused.statusCode, 403)
  t.same(refused.json(), {
    message: 'board m4 would be more than the 3 boards an account may create (MAX_BOARDS_PER_ACCOUNT)',
    code: 'PLAYFIELD_FORBIDDEN'
  })
  t.equal((await mallory.post('m1')).statusCode, 200, 'submitting to a board it made still works')
  t.notOk(await app.redis.sismember('lb:boards', 'm4'), 'the refused board was not registered')
  t.same(await allKeys(app.redis, 'lb:{m4}*'), [], 'and nothing of it was written')

  const alice = await as(app, 'alice')
  t.equal((await alice.post('m2')).statusCode, 200, 'another account submits to an existing board without using its quota')
  for (const b of ['a1', 'a2', 'a3']) t.equal((await alice.post(b)).statusCode, 200, b)
  t.equal((await alice.post('a4')).statusCode, 403)

  const admin = await as(app, 'admin', true)
  for (let i = 0; i < 5; i++) t.equal((await admin.post(`x${i}`)).statusCode, 200, 'admins are not counted')
  t.equal((await app.redis.scard('lb:boards')), 11)
})

t.test('MAX_BOARDS still caps all boards together', async (t) => {
  const app = await buildClean(t, { config: { MAX_BOARDS: '2', MAX_BOARDS_PER_ACCOUNT: '5' } })
  const bob = await as(app, 'bob')
  t.equal((await bob.post('b1')).statusCode, 200)
  t.equal((await bob.post('b2')).statusCode, 200)
  const full = await bob.post('b3')
  t.equal(full.statusCode, 400)
  t.match(full.json().message, /more than MAX_BOARDS \(2\) boards/)
})

t.test('reading a board that does not exist answers like an empty board and writes no key', async (t) => {
  const app = await buildClean(t)
  const reader = await as(app, 'reader')
  const before = await allKeys(app.redis, 'lb:*')
  for (let i = 0; i < 20; i++) {
    const res = await reader.get(`/leaderboard?board=nothing-${i}&window=last_30_days`)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { results: [], around_me: [], next_page: 0, total: 0 })
  }
  // an unknown player in a listing is bad input (the original contract's INVALID_ARGUMENT `name`)
  t.equal((await reader.get('/leaderboard?board=nothing-0&name=ghost')).statusCode, 400)
  t.equal((await reader.get('/leaderboard?board=nothing-0&page=2')).statusCode, 400)
  t.same(await allKeys(app.redis, 'lb:*'), before, 'no key written by any read')
})
