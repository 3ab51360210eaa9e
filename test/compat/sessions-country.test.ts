import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { manualClock } from '../../src/clock.js'
import { allKeys, build } from '../helpers/app.js'

// The original session service accepted any two-letter country code; real clients send codes ISO has not
// assigned (XK for Kosovo, the user-assigned AA, QM–QZ, XA–XZ, ZZ in test and staging data). And a client that
// only checks the HTTP status must learn when events were rejected.

type Test = import('tap').Test
const NOW = Date.UTC(2030, 0, 10, 12, 0, 0)
// The client's timestamp form: no zone (UTC), microseconds.
const ts = (msAgo: number) => new Date(NOW - msAgo).toISOString().replace('Z', '000')

async function setup (t: Test) {
  const app = await build(t, { clock: manualClock(NOW) })
  // The file's private Redis is shared by its tests: each starts empty (one key per DEL: on a cluster the keys
  // are in many slots).
  for (const key of await allKeys(app.redis, 'sess:*')) await app.redis.del(key)
  return app
}

const put = (app: FastifyInstance, events: object[]) => app.inject({ method: 'POST', url: '/put_events', payload: events })
const start = (session: string, country: unknown, player = 'p1') =>
  ({ event: 'start', player_id: player, session_id: session, ts: ts(600_000), country })
const end = (session: string, player = 'p1') => ({ event: 'end', player_id: player, session_id: session, ts: ts(60_000) })

t.test('start events with unassigned but well-formed codes (XK, ZZ, AA, QM, XA…) are stored and counted', async (t) => {
  const app = await setup(t)
  const codes = ['XK', 'ZZ', 'AA', 'QM', 'QZ', 'XA', 'XZ', 'FI']
  const res = await put(app, codes.map((c, i) => start(`s${i}`, c, `p${i}`)))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { accepted: 8, duplicates: 0, rejected: [] })
  // Lower case is the same code, stored upper case.
  t.equal((await put(app, [start('s-lower', 'xk', 'p9')])).statusCode, 200)

  const starts = (await app.inject('/start_players_events/1')).json()
  t.equal(starts.total, 9)
  t.same(Object.keys(starts.countries), [...codes].sort(), 'listed alphabetically, XK twice in one entry')
  t.equal(starts.countries.XK.count, 2)
  t.same(starts.countries.XK.sessions.map((s: { session_id: string }) => s.session_id).sort(), ['s-lower', 's0'])
  t.equal(starts.countries.ZZ.count, 1)

  t.equal((await put(app, [end('s0', 'p0'), end('s1', 'p1')])).statusCode, 200)
  const done = (await app.inject('/end_players_events/p1')).json()
  t.same(done.map((s: { session_id: string, country: string }) => [s.session_id, s.country]), [['s1', 'ZZ']])
  t.same((await app.inject('/end_players_events/p0')).json()[0].country, 'XK')
})

t.test('a batch with rejected events is never a plain 200: 207 when some were stored, 400 when none', async (t) => {
  const app = await setup(t)
  const message = 'country must be a two-letter ISO 3166-1 alpha-2 code such as FI (required on start events)'

  const mixed = await put(app, [start('m1', 'XK'), start('m2', 'FIN'), start('m3', 'D1'), start('m4', undefined)])
  t.equal(mixed.statusCode, 207, 'Multi-Status: some stored, some not')
  t.same(mixed.json(), {
    accepted: 1,
    duplicates: 0,
    rejected: [{ index: 1, message }, { index: 2, message }, { index: 3, message }]
  })

  const none = await put(app, [start('n1', 'FIN'), start('n2', 12)])
  t.equal(none.statusCode, 400)
  t.same(none.json(), {
    message: `every event was rejected (event 0: ${message})`,
    code: 'PLAYFIELD_INVALID_ARGUMENT',
    accepted: 0,
    duplicates: 0,
    rejected: [{ index: 0, message }, { index: 1, message }]
  })

  // A resent batch whose stored events are duplicates and one is still bad: 207 again, nothing new stored.
  const again = await put(app, [start('m1', 'XK'), start('m2', 'FIN')])
  t.equal(again.statusCode, 207)
  t.same(again.json(), { accepted: 0, duplicates: 1, rejected: [{ index: 1, message }] })
  t.equal((await app.inject('/start_players_events/1')).json().total, 1, 'only m1 stored')

  // All stored (or already stored): 200.
  const fine = await put(app, [start('m1', 'XK'), start('m5', 'ZZ')])
  t.equal(fine.statusCode, 200)
  t.same(fine.json(), { accepted: 1, duplicates: 1, rejected: [] })
})
