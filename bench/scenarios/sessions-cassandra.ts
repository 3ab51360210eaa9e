import { ratioOf, type BenchContext, type BenchResult } from '../lib.js'
import { manualClock } from '../../src/clock.js'
import { batches, generateSessions, shuffle, toEvents } from '../../src/cli/session-generator.js'
import { startCassandra } from '../../test/helpers/cassandra.js'

// Player sessions on the Cassandra store (the Apache Cassandra 2.1 the test setup uses, started here on loopback;
// or CASSANDRA_CONTACT_POINTS). A smaller data set than the Redis scenario — 20,000 events loaded through the API
// in 10-event batches — so loading fits the time bound; then the same three loads at ctx.connections.

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const cassandra = await startCassandra({ heap: '1G' }).catch((err: Error) => {
    ctx.log(`sessions-cassandra: no Cassandra (${err.message}); skipped`)
    return undefined
  })
  if (!cassandra) return [{ figure: 'sessions on Cassandra', unit: '', ours: 0, note: 'skipped: Cassandra could not start (java missing?)' }]
  const clock = manualClock(Date.now())
  const nowMs = clock.now()
  try {
    const { app, url, close } = await ctx.startApp({
      CASSANDRA_CONTACT_POINTS: cassandra.contactPoints,
      CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
      CASSANDRA_KEYSPACE: 'bench_sessions'
    }, clock)
    try {
      const sessions = generateSessions({
        nowMs, countries: 20, playersPerCountry: 50, sessionsPerPlayer: 10, seed: 11
      })
      const players = [...new Set(sessions.map(s => s.playerId))]
      const all = batches(shuffle(toEvents(sessions), 3), 10)
      const t0 = performance.now()
      let next = 0
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < all.length) await app.sessions.putEvents(all[next++])
      }))
      const loadSeconds = (performance.now() - t0) / 1000
      const duration = Math.min(ctx.durationSec, 4)
      let n = 0
      const completed = await ctx.httpLoad({
        url, duration, requests: [{ setupRequest: (req) => ({ ...req, path: `/end_players_events/${players[n++ % players.length]}` }) }]
      })
      // One COUNT per (hour, country) partition makes this query heavy on Cassandra: measured on one connection
      // (at 100 connections no answer came back within the load's duration).
      const window = await ctx.httpLoad({ url: `${url}/start_players_events/100`, duration, connections: 1 })
      const bare = await ctx.bareHttp()
      const row = (figure: string, r: typeof completed): BenchResult => ({
        figure,
        unit: 'req/s',
        ours: r.rps,
        baseline: bare.rps,
        baselineName: 'bare Fastify hello',
        ratio: ratioOf(r.rps, bare.rps),
        p50: r.p50,
        p99: r.p99,
        target: 'p99 ≤ 10 ms',
        note: `non-2xx ${r.non2xx}, errors ${r.errors}`
      })
      return [
        { figure: 'sessions (Cassandra 2.1): POST /put_events batches of 10 through the service, 32 in flight', unit: 'events/s', ours: (all.length * 10) / loadSeconds, note: `${all.length * 10} events in ${loadSeconds.toFixed(1)} s` },
        row('GET /end_players_events/:player_id (Cassandra, 1,000 players)', completed),
        row('GET /start_players_events/100 (Cassandra, 20 countries, 1 connection)', window)
      ]
    } finally {
      await close()
    }
  } finally {
    await cassandra.stop()
  }
}
