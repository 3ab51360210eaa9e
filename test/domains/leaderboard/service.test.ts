import t from 'tap'
import { Cluster, type Redis } from 'ioredis'
import { manualClock } from '../../../src/clock.js'
import { buildClean as build, NOW } from '../../helpers/leaderboard.js'
import { allKeys } from '../../helpers/app.js'
import { keySlot } from '../../../src/plugins/infra/gather.js'
import { prefixFor } from '../../../src/plugins/infra/queues.js'
import { createLeaderboard, DAY_MS } from '../../../src/plugins/leaderboard/service.js'
import { createLeaderboardStore } from '../../../src/plugins/leaderboard/redis-store.js'
import { maintenanceProcessor, MAINTENANCE_QUEUE, MAINTENANCE_SCHEDULER_ID } from '../../../src/jobs/leaderboard-maintenance.js'
import type { Job } from 'bullmq'

type Test = import('tap').Test

const names = (rows: Array<{ name: string }>) => rows.map(r => r.name)

/** The node that serves `key`: the Redis itself, or on a cluster the master of the key's slot. */
function serverOf (redis: Redis | Cluster, key: string): Redis {
  if (!(redis instanceof Cluster)) return redis
  const address = redis.slots[keySlot(key)]![0]
  return redis.nodes('master').find(n => `${n.options.host}:${n.options.port}` === address)!
}

async function fixture (t: Test, config: Record<string, string> = {}) {
  const clock = manualClock(NOW)
  const app = await build(t, { clock, config })
  const lb = app.leaderboard
  await lb.submit([{ name: 'tuta', score: 10 }, { name: 'sava', score: 20 }, { name: 'kiki', score: 30 }, { name: 'chupa', score: 40 }])
  clock.set(NOW - 31 * DAY_MS)
  await lb.submit([{ name: 'old1', score: 200 }, { name: 'old2', score: 300 }])
  clock.set(NOW)
  return { app, lb, clock }
}

t.test('the original fixture: all-time and 30-day boards', async (t) => {
  const { lb } = await fixture(t)
  const all = await lb.page({})
  t.same(all, {
    results: [
      { name: 'old2', score: 300, rank: 1 }, { name: 'old1', score: 200, rank: 2 }, { name: 'chupa', score: 40, rank: 3 },
      { name: 'kiki', score: 30, rank: 4 }, { name: 'sava', score: 20, rank: 5 }, { name: 'tuta', score: 10, rank: 6 }
    ],
    around_me: [],
    next_page: 0,
    total: 6
  })
  const w30 = await lb.page({ window: 'last_30_days' })
  t.same(names(w30.results), ['chupa', 'kiki', 'sava', 'tuta'])
  t.same(w30.results.map(r => r.rank), [1, 2, 3, 4])
  t.equal(w30.total, 4)
})

t.test('a high score older than the window leaves the 30-day board while the player keeps lower scores', async (t) => {
  const clock = manualClock(NOW - 40 * DAY_MS)
  const app = await build(t, { clock })
  await app.leaderboard.submit([{ name: 'p', score: 50 }, { name: 'q', score: 30 }])
  clock.set(NOW - 3 * DAY_MS)
  const [r] = await app.leaderboard.submit([{ name: 'p', score: 20 }])
  t.same(r, { name: 'p', score: 50, rank: 1, window_rank: 1, duplicate: false })
  clock.set(NOW)
  t.same((await app.leaderboard.page({})).results, [{ name: 'p', score: 50, rank: 1 }, { name: 'q', score: 30, rank: 2 }])
  t.same((await app.leaderboard.page({ window: 'last_30_days' })).results, [{ name: 'p', score: 20, rank: 1 }])
  t.same(await app.leaderboard.player('p', { window: 'last_30_days' }), { name: 'p', score: 20, rank: 1 })
})

t.test('the 30-day window is today and the previous 29 UTC days', async (t) => {
  const clock = manualClock(NOW)
  const app = await build(t, { clock })
  const startOfToday = Math.floor(NOW / DAY_MS) * DAY_MS
  clock.set(startOfToday - 29 * DAY_MS) // first millisecond of the oldest day in the window
  await app.leaderboard.submit([{ name: 'in', score: 5 }])
  clock.set(startOfToday - 29 * DAY_MS - 1) // last millisecond of the day before it
  await app.leaderboard.submit([{ name: 'out', score: 6 }])
  clock.set(startOfToday + DAY_MS - 1)
  t.same(names((await app.leaderboard.page({ window: 'last_30_days' })).results), ['in'])
  clock.set(startOfToday + DAY_MS) // a day later "in" has left the window too
  t.same((await app.leaderboard.page({ window: 'last_30_days' })).total, 0)
})

t.test('processes whose clocks straddle UTC midnight share the 30-day view, not rebuilding it back and forth', async (t) => {
  const midnight = Math.ceil(NOW / DAY_MS) * DAY_MS
  const app = await build(t, { clock: manualClock(midnight - 50) })
  const store = createLeaderboardStore(app.redis)
  const at = (ms: number) => createLeaderboard({ store, clock: manualClock(ms), config: { PAGE_SIZE: 10 } })
  const behind = at(midnight - 50)
  const ahead = at(midnight + 50)
  // A high score from the day that leaves the window at midnight: only the clock that passed midnight drops it.
  const old = at(midnight - 30 * DAY_MS + 1000)
  await old.submit([{ name: 'leaving', score: 999 }])
  const rebuilds: string[] = []
  // MONITOR shows one node's commands: on a cluster, the master that serves the board's slot.
  const monitor = await serverOf(app.redis, 'lb:{default}:w30').monitor()
  t.teardown(() => monitor.disconnect())
  monitor.on('monitor', (_time: string, args: string[]) => { if (args[0] === 'ZUNIONSTORE') rebuilds.push(args[1]!) })
  for (let i = 0; i < 20; i++) {
    await behind.submit([{ name: `b${i}`, score: i }])
    await ahead.submit([{ name: `a${i}`, score: i }])
    await behind.page({ window: 'last_30_days' })
  }
  const seen = await ahead.page({ window: 'last_30_days' })
  t.equal(seen.total, 40, 'every submission of both clocks is on the view, the score that left the window is not')
  t.notOk(names(seen.results).includes('leaving'))
  // Once for the day before midnight, once for the day after; then never again (it used to flip at every call).
  t.ok(rebuilds.length <= 2, `the view was rebuilt ${rebuilds.length} time(s), not once per call`)
})

t.test('a score only replaces the stored one when it is larger', async (t) => {
  const app = await build(t, { clock: manualClock(NOW) })
  t.equal((await app.leaderboard.submitOne({ name: 'a', score: 7 })).score, 7)
  t.equal((await app.leaderboard.submitOne({ name: 'a', score: 3 })).score, 7)
  t.equal((await app.leaderboard.submitOne({ name: 'a', score: 9 })).score, 9)
  t.equal((await app.leaderboard.submitOne({ name: 'a', score: 0 })).score, 9)
  t.equal((await app.leaderboard.submitOne({ name: 'z', score: 4294967295 })).score, 4294967295)
})

t.test('100 concurrent submissions for one player leave exactly the maximum', async (t) => {
  const app = await build(t, { clock: manualClock(NOW) })
  const scores = Array.from({ length: 100 }, (_, i) => (i * 7919) % 1000)
  await Promise.all(scores.map(score => app.leaderboard.submitOne({ name: 'racer', score })))
  const max = Math.max(...scores)
  t.same(await app.leaderboard.player('racer'), { name: 'racer', score: max, rank: 1 })
  t.same(await app.leaderboard.player('racer', { window: 'last_30_days' }), { name: 'racer', score: max, rank: 1 })
})

t.test('a resubmitted submission_id is not applied twice', async (t) => {
  const app = await build(t, { clock: manualClock(NOW) })
  const lb = app.leaderboard
  t.same(await lb.submitOne({ name: 'd', score: 10, submission_id: 's1' }), { name: 'd', score: 10, rank: 1, window_rank: 1, duplicate: false })
  await lb.submitOne({ name: 'other', score: 50 })
  // The same id again, even with another score, only reports the current standing.
  t.same(await lb.submitOne({ name: 'd', score: 99, submission_id: 's1' }), { name: 'd', score: 10, rank: 2, window_rank: 2, duplicate: true })
  t.equal((await lb.player('d')).score, 10)
  // Ids are per player: another player may use the same id.
  t.equal((await lb.submitOne({ name: 'e', score: 60, submission_id: 's1' })).duplicate, false)
  t.equal((await lb.submitOne({ name: 'd', score: 70, submission_id: 's2' })).score, 70)
})

t.test('ties share a rank (1, 2, 2, 4) and are listed by ascending name', async (t) => {
  const app = await build(t, { clock: manualClock(NOW) })
  await app.leaderboard.submit([
    { name: 'top', score: 100 }, { name: 'zed', score: 50 }, { name: 'amy', score: 50 }, { name: 'low', score: 10 }
  ])
  t.same((await app.leaderboard.page({})).results, [
    { name: 'top', score: 100, rank: 1 }, { name: 'amy', score: 50, rank: 2 },
    { name: 'zed', score: 50, rank: 2 }, { name: 'low', score: 10, rank: 4 }
  ])
})

t.test('a tie that crosses a page boundary keeps its shared rank on the next page', async (t) => {
  const app = await build(t, { clock: manualClock(NOW), config: { PAGE_SIZE: '2' } })
  await app.leaderboard.submit([{ name: 'a', score: 9 }, { name: 'b', score: 5 }, { name: 'c', score: 5 }, { name: 'd', score: 5 }, { name: 'e', score: 1 }])
  t.same((await app.leaderboard.page({ page: 2 })).results, [{ name: 'c', score: 5, rank: 2 }, { name: 'd', score: 5, rank: 2 }])
  t.same((await app.leaderboard.page({ page: 3 })).results, [{ name: 'e', score: 1, rank: 5 }])
})

t.test('paging: first, last, empty and past-the-end pages', async (t) => {
  const app = await build(t, { clock: manualClock(NOW), config: { PAGE_SIZE: '2' } })
  const lb = app.leaderboard
  t.same(await lb.page({}), { results: [], around_me: [], next_page: 0, total: 0 }, 'first page of an empty board')
  t.same(await lb.page({ page: 1 }), { results: [], around_me: [], next_page: 0, total: 0 })
  await t.rejects(lb.page({ page: 2 }), { name: 'InvalidArgumentError', message: 'page 2 is past the last page (1) of the all-time board' })
  await lb.submit([{ name: 'a', score: 5 }, { name: 'b', score: 4 }, { name: 'c', score: 3 }, { name: 'd', score: 2 }, { name: 'e', score: 1 }])
  const first = await lb.page({ page: 0 })
  t.same(names(first.results), ['a', 'b'])
  t.equal(first.next_page, 2)
  t.same(await lb.page({ page: 1 }), first, 'page 0 and page 1 are the same')
  const last = await lb.page({ page: 3 })
  t.same(last.results, [{ name: 'e', score: 1, rank: 5 }])
  t.equal(last.next_page, 0)
  t.equal(last.total, 5)
  await t.rejects(lb.page({ page: 4 }), { name: 'InvalidArgumentError' })
})

t.test('around_me centres the player with two either side, only when past the requested page', async (t) => {
  const app = await build(t, { clock: manualClock(NOW), config: { PAGE_SIZE: '2' } })
  const lb = app.leaderboard
  await lb.submit(Array.from({ length: 9 }, (_, i) => ({ name: `p${i + 1}`, score: 100 - i })))
  const r = await lb.page({ page: 1, name: 'p6' })
  t.same(names(r.results), ['p1', 'p2'])
  t.same(r.around_me, [
    { name: 'p4', score: 97, rank: 4 }, { name: 'p5', score: 96, rank: 5 }, { name: 'p6', score: 95, rank: 6 },
    { name: 'p7', score: 94, rank: 7 }, { name: 'p8', score: 93, rank: 8 }
  ])
  t.same(names((await lb.page({ page: 1, name: 'p9' })).around_me), ['p7', 'p8', 'p9'], 'clipped at the bottom')
  t.same(names((await lb.page({ page: 1, name: 'p3' })).around_me), ['p1', 'p2', 'p3', 'p4', 'p5'], 'clipped at the top')
  t.same((await lb.page({ page: 1, name: 'p2' })).around_me, [], 'on the requested page')
  t.same((await lb.page({ page: 3, name: 'p2' })).around_me, [], 'on an earlier page')
  // In a listing an unknown name is bad input (the original contract): field `name`, gRPC message exactly "name".
  await t.rejects(lb.page({ name: 'ghost' }), {
    name: 'InvalidArgumentError',
    message: 'player "ghost" is not on the all-time board',
    hints: { field: 'name', grpcMessage: 'name' }
  })
  // Asked about directly (standing), the player is not found.
  await t.rejects(lb.standing('ghost'), { name: 'NotFoundError', message: 'player "ghost" is not on the all-time board' })
})

t.test('a player only on the all-time board is not found on the 30-day board', async (t) => {
  const { lb } = await fixture(t)
  t.equal((await lb.page({ name: 'old1' })).total, 6)
  await t.rejects(lb.page({ name: 'old1', window: 'last_30_days' }),
    { name: 'InvalidArgumentError', message: 'player "old1" is not on the last-30-days board' })
})

t.test('boards are named and independent; the default board is "default"', async (t) => {
  const app = await build(t, { clock: manualClock(NOW) })
  await app.leaderboard.submit([{ name: 'x', score: 1 }], 'season-2')
  await app.leaderboard.submit([{ name: 'y', score: 2 }])
  t.same(names((await app.leaderboard.page({ board: 'season-2' })).results), ['x'])
  t.same(names((await app.leaderboard.page({ board: 'default' })).results), ['y'])
  t.same(names((await app.leaderboard.page({})).results), ['y'])
  await t.rejects(app.leaderboard.page({ board: 'bad{tag}' }), { name: 'InvalidArgumentError' })
  t.same(await allKeys(app.redis, 'lb:{season-2}:*'), [
    'lb:{season-2}:all', `lb:{season-2}:day:${Math.floor(NOW / DAY_MS)}`, 'lb:{season-2}:days', 'lb:{season-2}:w30', 'lb:{season-2}:w30:day'
  ])
})

t.test('a submission that would create more than MAX_BOARDS boards is refused and writes nothing', async (t) => {
  const app = await build(t, { clock: manualClock(NOW), config: { MAX_BOARDS: '2' } })
  await app.leaderboard.submit([{ name: 'x', score: 1 }])
  await app.leaderboard.submit([{ name: 'x', score: 1 }], 'season-1')
  await t.rejects(app.leaderboard.submit([{ name: 'x', score: 1 }], 'season-2'),
    { name: 'InvalidArgumentError', message: 'board season-2 would be more than MAX_BOARDS (2) boards' })
  t.same(await allKeys(app.redis, 'lb:{season-2}:*'), [])
  t.same(await app.redis.smembers('lb:boards').then(b => b.sort()), ['default', 'season-1'])
  await app.leaderboard.submit([{ name: 'y', score: 2 }], 'season-1')
  t.equal((await app.leaderboard.page({ board: 'season-1' })).total, 2, 'existing boards still take scores')
})

t.test('deletePlayer removes a player from every board and both windows', async (t) => {
  const { lb } = await fixture(t)
  await lb.submit([{ name: 'kiki', score: 1 }], 'other')
  t.same(await lb.deletePlayer('kiki'), ['default', 'other'])
  t.same(names((await lb.page({})).results), ['old2', 'old1', 'chupa', 'sava', 'tuta'])
  t.same(names((await lb.page({ window: 'last_30_days' })).results), ['chupa', 'sava', 'tuta'])
  t.equal((await lb.page({ board: 'other' })).total, 0)
  t.same(await lb.deletePlayer('kiki'), [])
})

t.test('the maintenance processor drops buckets that left the window and rebuilds the view, idempotently', async (t) => {
  const clock = manualClock(NOW - 40 * DAY_MS)
  const app = await build(t, { clock })
  await app.leaderboard.submit([{ name: 'old', score: 9 }])
  clock.set(NOW - 2 * DAY_MS)
  await app.leaderboard.submit([{ name: 'new', score: 1 }])
  clock.set(NOW)
  const today = Math.floor(NOW / DAY_MS)
  // A stale cached view (as if no read had happened today) must be replaced by the job.
  await app.redis.set('lb:{default}:w30:day', String(today))
  await app.redis.zadd('lb:{default}:w30', -9, 'old')
  const run = maintenanceProcessor(app.leaderboard)
  t.same(await run({} as Job), { boards: 1, droppedBuckets: 1, day: today })
  t.equal(await app.redis.exists(`lb:{default}:day:${today - 40}`), 0)
  t.equal(await app.redis.exists(`lb:{default}:day:${today - 2}`), 1)
  t.same(await app.redis.zrange('lb:{default}:days', 0, -1), [String(today - 2)])
  t.same(await app.redis.zrange('lb:{default}:w30', 0, -1, 'WITHSCORES'), ['new', '-1'])
  t.same(await run({} as Job), { boards: 1, droppedBuckets: 0, day: today }, 'a second run changes nothing')
  t.same(names((await app.leaderboard.page({})).results), ['old', 'new'])
})

t.test('deleting a player everywhere and the daily maintenance reach boards on every master', async (t) => {
  const clock = manualClock(NOW - 40 * DAY_MS)
  const app = await build(t, { clock })
  const boards = Array.from({ length: 12 }, (_, i) => `spread-${String(i).padStart(2, '0')}`)
  for (const board of boards) await app.leaderboard.submit([{ name: 'roamer', score: 1 }, { name: 'stay', score: 2 }], board)
  clock.set(NOW)
  for (const board of boards) await app.leaderboard.submit([{ name: 'roamer', score: 3 }], board)
  if (app.redis instanceof Cluster) {
    const cluster = app.redis
    const masters = new Set(boards.map(b => cluster.slots[keySlot(`lb:{${b}}:all`)]![0]))
    t.ok(masters.size >= 2, `the boards lie on ${masters.size} masters`)
  }
  t.same(await app.leaderboard.maintain(), { boards: 12, droppedBuckets: 12, day: Math.floor(NOW / DAY_MS) })
  t.same(await allKeys(app.redis, `lb:{spread-*}:day:${Math.floor(NOW / DAY_MS) - 40}`), [], 'old buckets gone everywhere')
  t.same(await app.leaderboard.deletePlayer('roamer'), boards)
  for (const board of boards) {
    t.same(names((await app.leaderboard.page({ board })).results), ['stay'], board)
    t.same((await app.leaderboard.page({ board, window: 'last_30_days' })).total, 0, board)
  }
  t.same(await app.leaderboard.deletePlayer('roamer'), [])
})

t.test('the maintenance job scheduler is registered with the configured cron in UTC', async (t) => {
  const app = await build(t, { config: { LEADERBOARD_MAINTENANCE_CRON: '15 4 * * *' } })
  const queue = app.queues.all().find(q => q.name === MAINTENANCE_QUEUE && q.opts.prefix === prefixFor('lb'))
  t.ok(queue, 'the queue is listed for the dashboard')
  const scheduler = await queue!.getJobScheduler(MAINTENANCE_SCHEDULER_ID)
  t.equal(scheduler?.pattern, '15 4 * * *')
  t.equal(scheduler?.tz, 'UTC')
})
