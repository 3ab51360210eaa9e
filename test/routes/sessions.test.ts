import t from 'tap'
import { build } from '../helpers/app.js'
import { manualClock } from '../../src/clock.js'
import { formatTimestamp, parseTimestamp } from '../../src/plugins/sessions/timestamps.js'
import { batches, generateSessions, shuffle, toEvents } from '../../src/cli/session-generator.js'

const start = (sessionId: string) => ({
  event: 'start', player_id: 'p', session_id: sessionId, ts: new Date().toISOString(), country: 'FI'
})

t.test('POST /put_events answers 400 naming the problem for a body that is not 1-10 events', async (t) => {
  const app = await build(t)
  const post = (payload: string) => app.inject({
    method: 'POST', url: '/put_events', headers: { 'content-type': 'application/json' }, payload
  })
  const cases: Array<[string, string]> = [
    ['{"event":"start"}', 'body must be a JSON array of events'],
    ['5', 'body must be a JSON array of events'],
    ['"x"', 'body must be a JSON array of events'],
    ['[]', 'body must hold at least 1 event'],
    [JSON.stringify(Array.from({ length: 11 }, (_, i) => start(`s${i}`))), 'body must hold at most 10 events (got 11)']
  ]
  for (const [payload, message] of cases) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, payload.slice(0, 40))
    t.same(res.json(), { message, code: 'PLAYFIELD_INVALID_ARGUMENT' })
  }
  const notJson = await post('[{"event":')
  t.equal(notJson.statusCode, 400)
  t.match(notJson.json().message, /JSON/)
  // Nothing of the refused 11-event batch was stored.
  t.equal((await app.inject('/start_players_events/1')).json().total, 0)
})

t.test('GET /start_players_events/:hours refuses hours that are not a number in (0, 8760]', async (t) => {
  const app = await build(t)
  for (const hours of ['0', '-1', '8760.5', '8761', 'abc', '1e2', 'NaN', 'Infinity', '1.']) {
    const res = await app.inject(`/start_players_events/${hours}`)
    t.equal(res.statusCode, 400, hours)
    t.same(res.json(), {
      message: `hours must be a number greater than 0 and at most 8760 (got "${hours}")`, code: 'PLAYFIELD_INVALID_ARGUMENT'
    })
  }
  for (const hours of ['0.5', '8760', '.25', '24']) t.equal((await app.inject(`/start_players_events/${hours}`)).statusCode, 200, hours)
})

t.test('GET /start_players_events answers the window it used, even when empty', async (t) => {
  const clock = manualClock(Date.UTC(2030, 0, 1, 12))
  const app = await build(t, { clock })
  const res = await app.inject('/start_players_events/1.5')
  t.same(res.json(), { since: '2030-01-01T10:30:00.000000Z', until: '2030-01-01T12:00:00.000000Z', total: 0, countries: {} })
})

t.test('limits outside their range are a 400', async (t) => {
  const app = await build(t)
  t.equal((await app.inject('/end_players_events/p?limit=101')).statusCode, 400)
  t.equal((await app.inject('/end_players_events/p?limit=0')).statusCode, 400)
  t.equal((await app.inject('/start_players_events/1?limit=1001')).statusCode, 400)
  t.equal((await app.inject('/start_players_events/1?limit=x')).statusCode, 400)
  t.equal((await app.inject(`/end_players_events/${'x'.repeat(65)}`)).statusCode, 400)
  t.equal((await app.inject('/end_players_events/p?limit=100')).statusCode, 200)
})

t.test('the session routes are in the OpenAPI document', async (t) => {
  const app = await build(t)
  const paths = (await app.inject('/docs/json')).json().paths
  t.ok(paths['/put_events'].post)
  t.ok(paths['/end_players_events/{player_id}'].get)
  const window = paths['/start_players_events/{hours}'].get
  t.same(window.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name).sort(),
    ['country', 'cursor', 'limit'], 'the paging parameters are documented')
  const country = window.responses['200'].content['application/json'].schema.properties.countries.additionalProperties
  t.same(Object.keys(country.properties), ['count', 'sessions', 'next_cursor'])
  t.same(country.required, ['count', 'sessions'], 'next_cursor is optional: clients before paging ignore it')
})

t.test('timestamps parse with microseconds, no zone as UTC, and explicit zones', async (t) => {
  t.equal(parseTimestamp('2016-12-02T12:48:05.520022'), Date.UTC(2016, 11, 2, 12, 48, 5, 520) * 1000 + 22)
  t.equal(parseTimestamp('2016-12-02T12:48:05'), Date.UTC(2016, 11, 2, 12, 48, 5) * 1000)
  t.equal(parseTimestamp('2016-12-02 12:48:05.5Z'), Date.UTC(2016, 11, 2, 12, 48, 5, 500) * 1000)
  t.equal(parseTimestamp('2016-12-02T14:48:05+02:00'), Date.UTC(2016, 11, 2, 12, 48, 5) * 1000)
  t.equal(parseTimestamp('2016-12-02T07:18:05-0530'), Date.UTC(2016, 11, 2, 12, 48, 5) * 1000)
  for (const bad of ['2016-02-30T00:00:00', '2016-12-02T24:00:00', '2016-12-02T12:48:05.1234567', '2016-12-02',
    '2016-12-02T12:48:05+25:00', 'yesterday', '']) {
    t.equal(parseTimestamp(bad), undefined, bad)
  }
  t.equal(formatTimestamp(Date.UTC(2016, 11, 2, 12, 48, 5, 520) * 1000 + 22), '2016-12-02T12:48:05.520022Z')
})

t.test('the generator makes 500 sessions of 5 per player, starts within 30 days, ends within 15 h and not ahead', async (t) => {
  const nowMs = Date.UTC(2030, 5, 1)
  const sessions = generateSessions({ nowMs, seed: 3 })
  t.equal(sessions.length, 500)
  t.equal(new Set(sessions.map(s => s.sessionId)).size, 500)
  t.equal(new Set(sessions.map(s => s.country)).size, 10)
  const perPlayer = new Map<string, number>()
  for (const s of sessions) perPlayer.set(s.playerId, (perPlayer.get(s.playerId) ?? 0) + 1)
  t.same([...new Set(perPlayer.values())], [5])
  t.equal(perPlayer.size, 100)
  t.ok(sessions.every(s => s.startUs >= (nowMs - 30 * 86400_000) * 1000 && s.startUs < s.endUs &&
    s.endUs <= nowMs * 1000 && s.endUs - s.startUs <= 15 * 3600e6))
  const sent = batches(shuffle(toEvents(sessions)), 10)
  t.equal(sent.length, 100)
  t.ok(sent.every(b => b.length === 10))
  t.same(generateSessions({ nowMs, seed: 3 }), sessions, 'the same seed gives the same sessions')
})
