import t from 'tap'
import { build, testCluster } from '../helpers/app.js'
import { manualClock } from '../../src/clock.js'
import { formatTimestamp } from '../../src/plugins/sessions/timestamps.js'
import { batches, generateSessions, shuffle, toEvents } from '../../src/cli/session-generator.js'

// The sessions Redis store on a real 3-master cluster (this file's own, whatever PLAYFIELD_TEST_REDIS says): its keys
// spread over the masters by session, player and day-and-country, and the reads that gather them across masters
// (a player's completed sessions, the window query) answer exactly what one Redis answers.

t.test('sessions keys spread over the masters and the gathering reads answer across them', async (t) => {
  const cluster = await testCluster()
  const clock = manualClock(Date.now())
  const app = await build(t, { clock, config: { REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.addresses } })
  const shape = { countries: 10, playersPerCountry: 2, sessionsPerPlayer: 10, startWithinMs: 3 * 86400_000, seed: 3 }
  const sessions = generateSessions({ nowMs: clock.now(), ...shape })
  for (const batch of batches(shuffle(toEvents(sessions), 4), 10)) {
    const res = await app.inject({ method: 'POST', url: '/put_events', payload: batch })
    t.same(res.json(), { accepted: 10, duplicates: 0, rejected: [] })
  }

  const client = cluster.client()
  t.teardown(() => client.disconnect())
  await client.ping()
  const masters = client.nodes('master')
  t.equal(masters.length, 3)
  const perMaster = await Promise.all(masters.map(async (node) => {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', 'sess:*', 'COUNT', 1000)
      cursor = next
      keys.push(...found)
    } while (cursor !== '0')
    return keys
  }))
  const holding = (prefix: string) => perMaster.filter(keys => keys.some(k => k.startsWith(prefix))).length
  t.equal(perMaster.flat().filter(k => k.startsWith('sess:{s:')).length, 200, 'one hash per session')
  for (const [prefix, what] of [['sess:{s:', 'sessions'], ['sess:{p:', 'completed sets'], ['sess:{d:', 'day buckets']]) {
    t.ok(holding(prefix!) >= 2, `${what} lie on ${holding(prefix!)} masters`)
  }

  // A player's completed sessions: one sorted set, then the session hashes of several masters.
  for (const playerId of new Set(sessions.map(s => s.playerId))) {
    const mine = sessions.filter(s => s.playerId === playerId)
      .sort((a, b) => b.endUs - a.endUs || (a.sessionId < b.sessionId ? 1 : -1))
    const res = await app.inject(`/end_players_events/${playerId}`)
    t.same(res.json().map((r: { session_id: string, start: string }) => [r.session_id, r.start]),
      mine.map(s => [s.sessionId, formatTimestamp(s.startUs)]), playerId)
  }

  // The window: country sets of every day, then the buckets of every master, then the planned ranges.
  const window = (await app.inject('/start_players_events/8760?limit=3')).json()
  t.equal(window.total, 200)
  const countries = [...new Set(sessions.map(s => s.country))].sort()
  t.same(Object.keys(window.countries), countries)
  const listed = (s: typeof sessions[number]) =>
    ({ session_id: s.sessionId, player_id: s.playerId, ts: formatTimestamp(s.startUs) })
  for (const cc of countries) {
    const all = sessions.filter(s => s.country === cc)
      .sort((a, b) => b.startUs - a.startUs || (a.sessionId < b.sessionId ? 1 : -1))
    const { next_cursor: first, ...head } = window.countries[cc]
    t.same(head, { count: 20, sessions: all.slice(0, 3).map(listed) }, cc)
    // The rest of the country, page by page (each page's cursor bucket read on its own master).
    const paged = [...head.sessions]
    for (let cursor = first; cursor;) {
      const page = (await app.inject(`/start_players_events/8760?limit=7&cursor=${cursor}`)).json()
      paged.push(...page.countries[cc].sessions)
      cursor = page.countries[cc].next_cursor
    }
    t.same(paged, all.map(listed), `${cc}: every start once, in order, across pages`)
  }
})
