import t from 'tap'
import { buildClean } from '../helpers/leaderboard.js'

// The original leaderboard service accepted its score submissions as POST and as PUT; its clients send either.

type Test = import('tap').Test
const ADMIN = 'Basic ' + Buffer.from('admin:admin-password').toString('base64')

async function setup (t: Test) {
  const app = await buildClean(t)
  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt as string
  const headers = { authorization: `Bearer ${jwt}` }
  const send = (method: 'POST' | 'PUT', payload: unknown, url = '/scores') =>
    app.inject({ method, url, headers, payload: payload as object })
  return { app, headers, send }
}

t.test('PUT /scores stores and answers exactly as POST /scores does', async (t) => {
  const { app, send } = await setup(t)
  const put = await send('PUT', [{ name: 'kiki', score: 30 }, ['sava', 20]])
  t.equal(put.statusCode, 200)
  t.same(put.json(), [
    { name: 'kiki', score: 30, rank: 1, window_rank: 1 },
    { name: 'sava', score: 20, rank: 2, window_rank: 2 }
  ])
  // Mixed: POST then PUT on the same board; the higher score is kept either way.
  t.same((await send('POST', [['sava', 50]])).json(), [{ name: 'sava', score: 50, rank: 1, window_rank: 1 }])
  t.same((await send('PUT', [['sava', 10]])).json(), [{ name: 'sava', score: 50, rank: 1, window_rank: 1 }])
  t.same(await app.redis.zrange('lb:{default}:all', 0, -1, 'WITHSCORES'), ['sava', '-50', 'kiki', '-30'])
  const dup = await send('PUT', [
    { name: 'kiki', score: 31, submission_id: 'a1' }, { name: 'kiki', score: 99, submission_id: 'a1' }
  ])
  const standings = dup.json().map((r: { score: number, duplicate?: boolean }) => [r.score, r.duplicate ?? false])
  t.same(standings, [[31, false], [31, true]])
  const board = await send('PUT', [['tuta', 5]], '/scores?board=cup')
  t.equal(board.statusCode, 200)
  t.equal((await app.leaderboard.page({ board: 'cup' })).total, 1)
})

t.test('PUT /scores refuses what POST refuses: bad entries (400, nothing written) and missing tokens (401)', async (t) => {
  const { app, send } = await setup(t)
  const bad = await send('PUT', [['kiki', 1], ['sava', -1]])
  t.equal(bad.statusCode, 400)
  t.same(bad.json(), {
    message: 'entries[1]: score must be an integer between 0 and 4294967295',
    code: 'PLAYFIELD_INVALID_ARGUMENT',
    details: { index: 1 }
  })
  t.equal(await app.redis.exists('lb:{default}:all'), 0, 'nothing written')
  const anonymous = await app.inject({ method: 'PUT', url: '/scores', payload: [['kiki', 1]] })
  t.equal(anonymous.statusCode, 401)
})

t.test('the OpenAPI document lists both methods of /scores with the same schema', async (t) => {
  const { app } = await setup(t)
  const doc = (await app.inject('/docs/json')).json()
  const path = doc.paths['/scores']
  t.ok(path.post && path.put, 'post and put documented')
  t.same(path.put.requestBody, path.post.requestBody)
})
