import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { loadConfig } from '../src/config.js'
import app, { options } from '../src/app.js'
import { startRedisServer } from '../src/plugins/infra/redis-server.js'
import { batches, generateSessions, shuffle, toEvents } from '../src/cli/session-generator.js'

// Throughput of the Cassandra sessions store's put_events, in the store's own process:
//   CASSANDRA_CONTACT_POINTS=127.0.0.1:9042 npx tsx bench/cassandra-put.ts [sessions=2000] [concurrency=32]
// (without CASSANDRA_CONTACT_POINTS it starts the test suite's Cassandra 2.1 on loopback). Events are sent in
// 10-event batches, shuffled, `concurrency` batches in flight; then the same events again (all duplicates).
// Prints events/s for both passes and the per-event report totals.

const sessionsWanted = Number(process.argv[2] ?? 2000)
const concurrency = Number(process.argv[3] ?? 32)

let contactPoints = process.env.CASSANDRA_CONTACT_POINTS
let stopCassandra: (() => Promise<void>) | undefined
if (!contactPoints) {
  const { startCassandra } = await import('../test/helpers/cassandra.js')
  const c = await startCassandra({ heap: '1G' })
  contactPoints = c.contactPoints
  stopCassandra = () => c.stop()
}
const dir = await mkdtemp(join(tmpdir(), 'playfield-cput-'))
const redis = await startRedisServer({ dir, aof: false })
const config = loadConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
  MAX_EVENT_LOOP_DELAY_MS: '0',
  REDIS_URL: redis.url,
  CASSANDRA_CONTACT_POINTS: contactPoints,
  CASSANDRA_KEYSPACE: `bench_put_${Date.now()}`
})
const fastify = Fastify(options(config))
await fastify.register(app, { config })
await fastify.ready()
try {
  const nowMs = Date.now()
  const players = Math.max(1, Math.ceil(sessionsWanted / 200))
  const sessions = generateSessions({
    nowMs, countries: 20, playersPerCountry: players, sessionsPerPlayer: 10, seed: 5
  })
  const events = toEvents(sessions)
  const all = batches(shuffle(events, 3), 10)
  for (const label of ['new events', 'the same events again (duplicates)']) {
    const totals: Record<string, number> = {}
    let next = 0
    const t0 = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < all.length) {
        const batch = all[next++]!
        const r = await fastify.sessions.putEvents(batch)
        totals.accepted = (totals.accepted ?? 0) + r.accepted
        totals.duplicates = (totals.duplicates ?? 0) + r.duplicates
        totals.rejected = (totals.rejected ?? 0) + r.rejected.length
      }
    }))
    const s = (performance.now() - t0) / 1000
    process.stdout.write(`${label}: ${events.length} events in ${s.toFixed(2)} s = ${Math.round(events.length / s)} events/s ${JSON.stringify(totals)}\n`)
  }
} finally {
  await fastify.close()
  await redis.stop()
  await rm(dir, { recursive: true, force: true })
  await stopCassandra?.()
}
