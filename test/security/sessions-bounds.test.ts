import t from 'tap'
import { build } from '../helpers/app.js'

// Issue #17, anonymous session writes: POST /put_events keeps the original contract (no credentials: the
// original game clients send none) but each client address gets SESSIONS_RATE_LIMIT_MAX batches per
// RATE_LIMIT_WINDOW_MS, on top of the 10-events-per-batch and body size caps.

const start = (sessionId: string) => ({
  event: 'start', player_id: 'p', session_id: sessionId, ts: new Date().toISOString(), country: 'FI'
})

t.test('anonymous session writes are rate limited per client address', async (t) => {
  const app = await build(t, { config: { SESSIONS_RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' } })
  const post = (remoteAddress: string, id: string) =>
    app.inject({ method: 'POST', url: '/put_events', remoteAddress, payload: [start(id)] })
  for (let i = 0; i < 5; i++) t.equal((await post('198.51.100.1', `a${i}`)).statusCode, 200)
  const limited = await post('198.51.100.1', 'a-over')
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { code: 'PLAYFIELD_RATE_LIMITED', message: /rate limit exceeded/ })
  t.equal((await post('198.51.100.2', 'b0')).statusCode, 200, 'another address is not held back')
  const total = (await app.inject('/start_players_events/1')).json().total
  t.equal(total, 6, 'the refused batch stored nothing')
})

t.test('a window answer lists at most SESSIONS_WINDOW_MAX_LISTED sessions in all; counts stay exact', async (t) => {
  const app = await build(t, { config: { SESSIONS_WINDOW_MAX_LISTED: '7', SESSIONS_RATE_LIMIT_MAX: '0' } })
  const countries = ['DE', 'FI', 'FR', 'SE']
  for (const cc of countries) {
    const events = Array.from({ length: 5 }, (_, i) => ({ ...start(`${cc}-${i}`), player_id: `p-${cc}-${i}`, country: cc }))
    t.equal((await app.inject({ method: 'POST', url: '/put_events', payload: events })).statusCode, 200)
  }
  const res = (await app.inject('/start_players_events/1?limit=1000')).json()
  t.equal(res.total, 26, 'every start of the window is counted (6 from the test before)')
  t.same(countries.map(cc => res.countries[cc].count), [5, 11, 5, 5], 'FI holds the 6 of the test before')
  const listed = Object.values(res.countries as Record<string, { sessions: unknown[] }>)
    .reduce((n, c) => n + c.sessions.length, 0)
  t.equal(listed, 7, 'but only 7 sessions are listed, whatever limit asks for')

  // Every country can still be read to the end: a country listed in part (or not at all) carries next_cursor, and
  // its pages, at most 7 sessions each too, list the rest, each start once.
  for (const cc of countries) {
    const { count, sessions, next_cursor: first } = res.countries[cc] as {
      count: number, sessions: Array<{ session_id: string }>, next_cursor?: string
    }
    const ids = sessions.map(s => s.session_id)
    if (ids.length < count) t.type(first, 'string', `${cc} listed in part says how to go on`)
    else t.equal(first, undefined, `${cc} listed whole`)
    let pages = 0
    for (let cursor = first; cursor !== undefined; pages++) {
      const page = await app.inject(`/start_players_events/1?limit=1000&cursor=${cursor}`)
      t.equal(page.statusCode, 200)
      const body = page.json().countries[cc]
      t.ok(body.sessions.length <= 7, 'a page lists at most 7 too')
      ids.push(...body.sessions.map((s: { session_id: string }) => s.session_id))
      cursor = body.next_cursor
      if (pages > count) throw new Error('paging does not end')
    }
    t.equal(ids.length, count, `${cc}: all ${count} starts listed after ${pages} more pages`)
    t.equal(new Set(ids).size, count, `${cc}: each once`)
  }
})
