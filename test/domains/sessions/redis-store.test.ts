import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { ON_CLUSTER, allKeys, build, privateRedis } from '../../helpers/app.js'
import { sessionsContract } from './contract.js'
import { perKey } from '../../../src/plugins/infra/gather.js'
import { manualClock } from '../../../src/clock.js'
import {
  dayBucketKey, dayCountriesKey, doneKey, migrateLegacy, sessionKey
} from '../../../src/plugins/sessions/redis-store.js'
import { dayOf, expiryMs, startedJson } from '../../../src/plugins/sessions/store.js'
import { formatTimestamp } from '../../../src/plugins/sessions/timestamps.js'
import { clientTimestamp, generateSessions, toEvents } from '../../../src/cli/session-generator.js'

type Test = import('tap').Test

/**
 * An app on an empty sessions store of its own: a private redis-server per test, or on the cluster run the file's
 * cluster with every sessions key deleted first (tests of a file run one after another).
 */
async function emptyApp (t: Test, clock: ReturnType<typeof manualClock>): Promise<FastifyInstance> {
  if (!ON_CLUSTER) return await build(t, { clock, config: { REDIS_URL: (await privateRedis(t)).url } })
  const app = await build(t, { clock })
  await perKey(app.redis, await allKeys(app.redis, 'sess:*'), (pipeline, key) => { pipeline.del(key) })
  return app
}

sessionsContract(t, {
  app: emptyApp,
  async expiries (app, s) {
    const [session, completed, start] = await Promise.all([
      app.redis.pexpiretime(sessionKey(s.sessionId)),
      app.redis.pexpiretime(doneKey(s.playerId)),
      app.redis.pexpiretime(dayBucketKey(dayOf(s.startUs), s.country))
    ])
    return { session, completed, start }
  }
})

async function put (app: FastifyInstance, events: unknown) {
  const res = await app.inject({ method: 'POST', url: '/put_events', payload: events as object })
  if (res.statusCode !== 200) throw new Error(`POST /put_events answered ${res.statusCode}: ${res.body}`)
  return res.json()
}
type Completed = Array<{ session_id: string, start: string, end: string }>
const completed = async (app: FastifyInstance, playerId: string) =>
  (await app.inject(`/end_players_events/${playerId}`)).json() as Completed
const window = async (app: FastifyInstance, hours: number) => (await app.inject(`/start_players_events/${hours}`)).json()

t.test('derived keys lost after the claim (a crash between the steps) are rewritten by the re-sent events', async (t) => {
  const clock = manualClock(Date.now())
  const app = await emptyApp(t, clock)
  const sessions = generateSessions({
    nowMs: clock.now(), countries: 2, playersPerCountry: 2, sessionsPerPlayer: 2, seed: 5
  })
  const events = toEvents(sessions)
  t.same(await put(app, events.slice(0, 10)), { accepted: 10, duplicates: 0, rejected: [] })
  await put(app, events.slice(10))
  const allDone = () => Promise.all(sessions.map(s => completed(app, s.playerId)))
  const before = { window: await window(app, 8760), done: await allDone() }
  t.equal(before.window.total, 8)

  // Only the session hashes are left, as if every request had failed right after its claims.
  const derived = (await allKeys(app.redis, 'sess:*')).filter(k => !k.startsWith('sess:{s:'))
  const days = new Set(sessions.map(s => dayOf(s.startUs)))
  const buckets = new Set(sessions.map(s => `${dayOf(s.startUs)}:${s.country}`))
  t.equal(derived.length, 4 + buckets.size + days.size, 'completed sets, day buckets and day country sets')
  await perKey(app.redis, derived, (pipeline, key) => { pipeline.del(key) })
  t.equal((await window(app, 8760)).total, 0)
  t.same(await completed(app, sessions[0]!.playerId), [])

  t.same(await put(app, events.slice(0, 10)), { accepted: 0, duplicates: 10, rejected: [] })
  t.same(await put(app, events.slice(10)), { accepted: 0, duplicates: 6, rejected: [] })
  t.same(await window(app, 8760), before.window)
  t.same(await allDone(), before.done)
  const s = sessions[0]!
  const newest = Math.max(...sessions.filter(o => o.country === s.country && dayOf(o.startUs) === dayOf(s.startUs))
    .map(o => o.startUs))
  t.equal(await app.redis.pexpiretime(dayBucketKey(dayOf(s.startUs), s.country)), expiryMs(newest),
    'the repaired bucket expires with its newest member')
})

t.test('migrateLegacy moves sessions of the older single-node layout, once', async (t) => {
  const clock = manualClock(Date.now())
  const app = await emptyApp(t, clock)
  const redis = app.redis
  const us = clock.now() * 1000
  const cc = 'FI'
  const a = { sid: 'mig-a', pid: 'mig-p', s: us - 7200e6, e: us - 3600e6 }
  const b = { sid: 'mig-b', pid: 'mig-p', s: us - 1800e6 }
  const c = { sid: 'mig-c', pid: 'mig-q', e: us - 30e6 }
  const d = { sid: 'mig-d', pid: 'mig-q', s: us - 600e6 }
  const e = { sid: 'mig-e', pid: 'mig-p', s: us - 900e6 }
  const day = dayOf(a.s)
  // The older layout, written key by key as that version wrote it.
  await redis.hset(`sess:s:${a.sid}`, 'p', a.pid, 's', a.s, 'c', cc, 'e', a.e)
  await redis.pexpireat(`sess:s:${a.sid}`, expiryMs(a.s))
  await redis.hset(`sess:s:${b.sid}`, 'p', b.pid, 's', b.s, 'c', cc)
  await redis.pexpireat(`sess:s:${b.sid}`, expiryMs(b.s))
  await redis.hset(`sess:s:${c.sid}`, 'p', c.pid, 'e', c.e)
  await redis.pexpireat(`sess:s:${c.sid}`, expiryMs(c.e))
  await redis.hset(`sess:s:${d.sid}`, 'p', d.pid, 's', d.s, 'c', 'SE')
  await redis.pexpireat(`sess:s:${d.sid}`, expiryMs(d.s))
  await redis.zadd(`sess:done:${a.pid}`, a.e, a.sid)
  await redis.pexpireat(`sess:done:${a.pid}`, expiryMs(a.s))
  await redis.hset(`sess:s:${e.sid}`, 'p', e.pid, 's', e.s, 'c', 'DK')
  await redis.pexpireat(`sess:s:${e.sid}`, expiryMs(e.s))
  const starts = [[a.sid, a.s, a.pid, cc], [b.sid, b.s, b.pid, cc], [d.sid, d.s, d.pid, 'SE'], [e.sid, e.s, e.pid, 'DK']] as const
  for (const [sid, s, pid, country] of starts) {
    await redis.zadd(`sess:day:${dayOf(s)}:${country}`, s, `${sid}\n${startedJson(sid, pid, s)}`)
    await redis.hincrby(`sess:daycc:${dayOf(s)}`, country, 1)
  }
  // The new version already took D's end before the migration ran: it waited, unpaired, in the new hash.
  t.same(await put(app, [{ event: 'end', player_id: d.pid, session_id: d.sid, ts: clientTimestamp(us - 60e6) }]),
    { accepted: 1, duplicates: 0, rejected: [] })
  t.same(await completed(app, d.pid), [])
  // And an end of E from another player, which it would have refused had it seen E's old hash.
  t.same(await put(app, [{ event: 'end', player_id: 'mig-x', session_id: e.sid, ts: clientTimestamp(us - 60e6) }]),
    { accepted: 1, duplicates: 0, rejected: [] })

  const oldKeys = (await allKeys(redis, 'sess:*')).filter(k => !k.startsWith('sess:{'))
  t.equal(await migrateLegacy(redis, clock.now()), oldKeys.length, 'every old key moved or deleted')
  t.same((await allKeys(redis, 'sess:*')).filter(k => !k.startsWith('sess:{')), [], 'no old key is left')

  const view = (sid: string, s: number, e: number) =>
    ({ session_id: sid, start: formatTimestamp(s), end: formatTimestamp(e) })
  const pick = (rows: Completed) =>
    rows.map(r => ({ session_id: r.session_id, start: r.start, end: r.end }))
  t.same(pick(await completed(app, a.pid)), [view(a.sid, a.s, a.e)])
  t.same(pick(await completed(app, d.pid)), [view(d.sid, d.s, us - 60e6)], 'the new end pairs the migrated start')
  const listed = (sid: string, pid: string, s: number) => ({ session_id: sid, player_id: pid, ts: formatTimestamp(s) })
  const expected = {
    total: 4,
    countries: {
      DK: { count: 1, sessions: [listed(e.sid, e.pid, e.s)] },
      FI: { count: 2, sessions: [listed(b.sid, b.pid, b.s), listed(a.sid, a.pid, a.s)] },
      SE: { count: 1, sessions: [listed(d.sid, d.pid, d.s)] }
    }
  }
  const got = await window(app, 24)
  t.same({ total: got.total, countries: got.countries }, expected)
  t.same(await redis.hgetall(sessionKey(e.sid)), { p: e.pid, s: String(e.s), c: 'DK' }, 'the old hash wins, whole')
  t.same(await completed(app, 'mig-x'), [])
  t.equal(await redis.pexpiretime(sessionKey(a.sid)), expiryMs(a.s))
  t.equal(await redis.pexpiretime(sessionKey(c.sid)), expiryMs(c.e))
  t.equal(await redis.pexpiretime(doneKey(a.pid)), expiryMs(a.s))
  t.same((await redis.smembers(dayCountriesKey(day))).sort(),
    [...new Set(starts.filter(([, s]) => dayOf(s) === day).map(([, , , country]) => country))].sort())

  // The migrated halves pair with events sent afterwards.
  t.same(await put(app, [
    { event: 'end', player_id: b.pid, session_id: b.sid, ts: clientTimestamp(us - 60e6) },
    { event: 'start', player_id: c.pid, session_id: c.sid, ts: clientTimestamp(us - 120e6), country: 'NO' }
  ]), { accepted: 2, duplicates: 0, rejected: [] })
  t.same((await completed(app, b.pid)).map(r => r.session_id), [b.sid, a.sid])
  t.same((await completed(app, c.pid)).map(r => r.session_id), [c.sid, d.sid])

  const after = await window(app, 24)
  t.equal(await migrateLegacy(redis, clock.now()), 0, 'a second run finds nothing to move')
  t.same(await window(app, 24), after)
})
