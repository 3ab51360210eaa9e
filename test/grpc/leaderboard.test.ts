import t from 'tap'
import { Metadata, status } from '@grpc/grpc-js'
import { manualClock } from '../../src/clock.js'
import { LeaderBoard as Ctor } from '../../src/grpc/contract.js'
import { DAY_MS } from '../../src/plugins/leaderboard/service.js'
import type { LeaderBoardClient } from '../../src/grpc/generated/leaderboard/LeaderBoard.js'
import type { PlayerScore } from '../../src/grpc/generated/leaderboard/PlayerScore.js'
import type { ScoreResponse__Output as ScoreOut } from '../../src/grpc/generated/leaderboard/ScoreResponse.js'
import type { GetLeaderBoard } from '../../src/grpc/generated/leaderboard/GetLeaderBoard.js'
import type { LeaderBoardResponse__Output as PageOut } from '../../src/grpc/generated/leaderboard/LeaderBoardResponse.js'
import { deadline, grpcClient } from '../helpers/app.js'
import { buildClean, NOW, OLD, RECENT } from '../helpers/leaderboard.js'

type Test = import('tap').Test
const b64 = (s: string) => Buffer.from(s).toString('base64')

function bearer (token: string, scheme = 'Bearer') {
  const md = new Metadata()
  md.set('authorization', `${scheme} ${token}`)
  return md
}

function authenticate (client: LeaderBoardClient, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.AuthenticateUser({ data }, { deadline: deadline() }, (err, res) => err ? reject(err) : resolve(res!.token))
  })
}

function getPage (client: LeaderBoardClient, md: Metadata, req: GetLeaderBoard = {}): Promise<PageOut> {
  return new Promise((resolve, reject) => {
    client.GetLeaderBoardPages(req, md, { deadline: deadline() }, (err, res) => err ? reject(err) : resolve(res!))
  })
}

/** Opens one stream, writes every message, ends it, and collects the responses (or the stream's error). */
function record (client: LeaderBoardClient, md: Metadata, messages: PlayerScore[]): Promise<ScoreOut[]> {
  return new Promise((resolve, reject) => {
    const call = client.RecordPlayerScore(md, { deadline: deadline() })
    const out: ScoreOut[] = []
    call.on('data', (m: ScoreOut) => out.push(m))
    call.on('error', reject)
    call.on('end', () => resolve(out))
    for (const m of messages) call.write(m)
    call.end()
  })
}

async function setup (t: Test, config: Record<string, string> = {}) {
  const clock = manualClock(NOW)
  const app = await buildClean(t, { clock, config })
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)
  const token = await authenticate(client, b64('admin:admin-password'))
  return { app, clock, client, token, md: bearer(token) }
}

const recs = (page: PageOut) => page.results.map(r => [r.name, r.score, r.rank])

t.test('AuthenticateUser exchanges base64 user:password for a token, and refuses wrong credentials', async (t) => {
  const { app, client, token } = await setup(t)
  t.match(token, /^[0-9a-f]{14}$/)
  t.equal(await app.auth.verifyToken(token), 'admin')
  await t.rejects(authenticate(client, b64('admin:wrong-password')), { code: status.UNAUTHENTICATED })
  await t.rejects(authenticate(client, ''), { code: status.UNAUTHENTICATED })
  await t.rejects(authenticate(client, 'not base64!'), { code: status.UNAUTHENTICATED })
})

t.test('the original fixture through the stream: ranks per submission, then both boards', async (t) => {
  const { client, md, clock } = await setup(t)
  const now = await record(client, md, RECENT)
  t.same(now.map(r => [r.name, r.rank, r.best_score, r.window_rank, r.error]), [
    ['tuta', 1, 10, 1, ''], ['sava', 1, 20, 1, ''], ['kiki', 1, 30, 1, ''], ['chupa', 1, 40, 1, '']
  ])
  clock.set(NOW - 31 * DAY_MS)
  const old = await record(client, md, OLD)
  t.same(old.map(r => [r.name, r.rank]), [['old1', 1], ['old2', 1]])
  clock.set(NOW)
  const all = await getPage(client, md, { option: 'ALL_TIME' })
  t.same(recs(all), [['old2', 300, 1], ['old1', 200, 2], ['chupa', 40, 3], ['kiki', 30, 4], ['sava', 20, 5], ['tuta', 10, 6]])
  t.equal(all.next_page, 0)
  t.equal(all.total, 6)
  const w30 = await getPage(client, md, { option: 'LAST_30_DAYS' })
  t.same(recs(w30), [['chupa', 40, 1], ['kiki', 30, 2], ['sava', 20, 3], ['tuta', 10, 4]])
  t.equal(w30.total, 4)
  const late = await record(client, md, [{ name: 'tuta', score: 35 }])
  t.same(late.map(r => [r.name, r.rank, r.best_score, r.window_rank]), [['tuta', 4, 35, 2]])
})

t.test('an invalid message in the stream is answered with an error and the stream goes on', async (t) => {
  const { client, md } = await setup(t)
  const res = await record(client, md, [
    { name: 'a', score: 5 }, { name: '', score: 9 }, { name: 'x'.repeat(129), score: 1 }, { name: 'b', score: 7, board: 'bad board' }, { name: 'c', score: 6 }
  ])
  t.same(res.map(r => [r.name.length > 5 ? 'long' : r.name, r.rank, r.error]), [
    ['a', 1, ''],
    ['', 0, 'name must not be empty'],
    ['long', 0, 'name must be at most 128 characters'],
    ['b', 0, 'board must be 1-64 of A-Z a-z 0-9 _ . -'],
    ['c', 1, '']
  ])
  t.same(recs(await getPage(client, md)), [['c', 6, 1], ['a', 5, 2]])
})

t.test('a resubmitted submission_id is answered as a duplicate and not applied twice', async (t) => {
  const { client, md } = await setup(t)
  const res = await record(client, md, [
    { name: 'p', score: 10, submission_id: 'm-1' }, { name: 'p', score: 50, submission_id: 'm-1' }, { name: 'p', score: 20, submission_id: 'm-2' }
  ])
  t.same(res.map(r => [r.submission_id, r.best_score, r.duplicate]), [['m-1', 10, false], ['m-1', 10, true], ['m-2', 20, false]])
  const again = await record(client, md, [{ name: 'p', score: 99, submission_id: 'm-2' }])
  t.same(again.map(r => [r.best_score, r.duplicate]), [[20, true]], 'also across streams')
})

t.test('many messages on concurrent streams keep each player\'s maximum and answer every message in order', async (t) => {
  const { client, md } = await setup(t)
  const streams = Array.from({ length: 10 }, (_, s) =>
    Array.from({ length: 30 }, (_, i) => ({ name: 'racer', score: (s * 31 + i * 17) % 997, submission_id: `${s}-${i}` })))
  const results = await Promise.all(streams.map(msgs => record(client, md, msgs)))
  for (const [s, res] of results.entries()) t.same(res.map(r => r.submission_id), streams[s]!.map(m => m.submission_id))
  const max = Math.max(...streams.flat().map(m => m.score))
  t.same(recs(await getPage(client, md, { name: 'racer' })), [['racer', max, 1]])
})

t.test('a long stream mixing boards and invalid messages gets per-message standings as if sent one by one', async (t) => {
  const { client, md } = await setup(t)
  const msgs: PlayerScore[] = Array.from({ length: 400 }, (_, i) => ({
    name: i % 97 === 0 ? '' : `p${i % 5}`, score: (i * 37) % 101, board: i % 3 === 0 ? 'b' : ''
  }))
  const res = await record(client, md, msgs)
  const best = new Map<string, number>()
  const expected = msgs.map(m => {
    if (m.name === '') return [m.name, 0, 'name must not be empty']
    const key = `${m.board}/${m.name}`
    best.set(key, Math.max(best.get(key) ?? 0, m.score as number))
    return [m.name, best.get(key), '']
  })
  t.same(res.map(r => [r.name, r.best_score, r.error]), expected)
})

t.test('GetLeaderBoardPages: paging, around_me, past-the-end and unknown names', async (t) => {
  const { client, md } = await setup(t, { PAGE_SIZE: '2' })
  t.same(await getPage(client, md, {}), { results: [], around_me: [], next_page: 0, total: 0 })
  // The original contract: the status message is the field's name (the explanation is in the rich status).
  await t.rejects(getPage(client, md, { page: 2 }), { code: status.INVALID_ARGUMENT, details: 'page' })
  await record(client, md, Array.from({ length: 7 }, (_, i) => ({ name: `p${i + 1}`, score: 100 - i })))
  const first = await getPage(client, md, { page: 0, name: 'p6' })
  t.same(recs(first), [['p1', 100, 1], ['p2', 99, 2]])
  t.same(first.around_me.map(r => r.name), ['p4', 'p5', 'p6', 'p7'])
  t.equal(first.next_page, 2)
  t.equal(first.total, 7)
  const last = await getPage(client, md, { page: 4, name: 'p6' })
  t.same(recs(last), [['p7', 94, 7]])
  t.same(last.around_me, [], 'omitted when the player is on an earlier page')
  t.equal(last.next_page, 0)
  await t.rejects(getPage(client, md, { page: 5 }), { code: status.INVALID_ARGUMENT, details: 'page' })
  await t.rejects(getPage(client, md, { name: 'ghost' }), { code: status.INVALID_ARGUMENT, details: 'name' })
  await t.rejects(getPage(client, md, { name: 'p1', option: 'LAST_30_DAYS', board: 'empty' }),
    { code: status.INVALID_ARGUMENT, details: 'name' })
})

t.test('every method but AuthenticateUser needs a valid token: missing, wrong and revoked are UNAUTHENTICATED', async (t) => {
  const { app, client, token } = await setup(t)
  await t.rejects(getPage(client, new Metadata()), { code: status.UNAUTHENTICATED })
  await t.rejects(getPage(client, bearer('0123456789abcd')), { code: status.UNAUTHENTICATED })
  await t.rejects(getPage(client, bearer('not-a-token')), { code: status.UNAUTHENTICATED })
  await t.rejects(record(client, new Metadata(), [{ name: 'a', score: 1 }]), { code: status.UNAUTHENTICATED })
  t.same((await getPage(client, bearer(token, 'Token'))).total, 0, 'the scheme "Token" is accepted too')
  const res = await app.inject({
    method: 'POST',
    url: '/tokens/revoke',
    headers: { authorization: 'Basic ' + b64('admin:admin-password') },
    payload: { token }
  })
  t.equal(res.statusCode, 200)
  await t.rejects(getPage(client, bearer(token)), { code: status.UNAUTHENTICATED })
  await t.rejects(record(client, bearer(token), [{ name: 'a', score: 1 }]), { code: status.UNAUTHENTICATED })
  t.equal(await app.redis.exists('lb:{default}:all'), 0, 'nothing was written by refused streams')
})
