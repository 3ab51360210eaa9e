import { clientTimestamp } from '../../src/cli/session-generator.js'
import { startCassandra, type CassandraServerHandle } from '../../test/helpers/cassandra.js'
import { figure, httpSample, interleave, log, startOurs, type BenchContext, type BenchResult } from '../lib.js'

// The Cassandra session store's write throughput: POST /put_events with 10 fresh events per request (5 sessions,
// start + end, ids made fresh per request by autocannon -I) to the built server on a single Cassandra node (the
// Apache Cassandra 2.1 the tests use, started here on loopback, 1 GiB heap; or BENCH_CASSANDRA_CONTACT_POINTS +
// BENCH_CASSANDRA_LOCAL_DC). The figure is events stored per second (10 × answered requests per second), each
// request answered with its per-event report. Skipped, with a row saying so, when Cassandra cannot start.

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  let cassandra: CassandraServerHandle | undefined
  let contactPoints = process.env.BENCH_CASSANDRA_CONTACT_POINTS
  let localDc = process.env.BENCH_CASSANDRA_LOCAL_DC ?? 'datacenter1'
  if (!contactPoints) {
    try {
      cassandra = await startCassandra({ heap: '1G' })
    } catch (err) {
      log(`sessions-cassandra: no Cassandra (${(err as Error).message}); skipped`)
      return [{ figure: 'Cassandra store, put_events', unit: '', ours: 0, note: `skipped: Cassandra could not start (${(err as Error).message})` }]
    }
    contactPoints = cassandra.contactPoints
    localDc = cassandra.localDataCenter
    log(`sessions-cassandra: Cassandra ready in ${(cassandra.startMs / 1000).toFixed(1)} s`)
  }
  try {
    const ours = await startOurs({
      REDIS_URL: ctx.redis.url,
      CASSANDRA_CONTACT_POINTS: contactPoints,
      CASSANDRA_LOCAL_DC: localDc,
      CASSANDRA_KEYSPACE: `bench_sessions_${Date.now()}`
    })
    try {
      const us = Date.now() * 1000 - 3_600_000_000
      const body = JSON.stringify(Array.from({ length: 5 }, (_, k) => [
        { event: 'start', player_id: 'b-[<id>]', session_id: `s${k}-[<id>]`, ts: clientTimestamp(us), country: 'FI' },
        { event: 'end', player_id: 'b-[<id>]', session_id: `s${k}-[<id>]`, ts: clientTimestamp(us + 60e6) }
      ]).flat())
      const put = { url: `${ours.base}/put_events`, method: 'POST', body, idReplacement: true, headers: { 'content-type': 'application/json' } }
      await ctx.httpLoad({ ...put, duration: 3 }) // warm-up: prepared statements, connections
      const s = await interleave(ctx.rounds, undefined, async () => {
        const r = await ctx.httpLoadOk('POST /put_events (Cassandra)', put)
        return { ...httpSample(r), value: r.rps * 10 }
      })
      return [figure({
        figure: `Cassandra store, POST /put_events 10 events a request, ${ctx.connections} connections (single node)`,
        unit: 'events/s',
        target: '≥ 5,000 events/s, same per-event report',
        ...s
      })]
    } finally {
      await ours.stop()
    }
  } finally {
    await cassandra?.stop()
  }
}
