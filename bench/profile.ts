import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startRedisServer } from '../src/plugins/infra/redis-server.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { createUsersStore } from '../src/plugins/users/redis-store.js'
import { seedSessions } from './scenarios/sessions.js'
import { ADMIN_BASIC, ADMIN_PASSWORD, ADMIN_USER, grpcLoad, httpLoad, log, startOurs, type HttpLoadSpec } from './lib.js'

// npm run bench:profile -- <path> [seconds]
// Profiles the built server under load: `node --cpu-prof dist/server.js` on a private Redis, loaded by the
// autocannon CLI (100 connections) on one path; then prints the top self-time functions of the server process
// and Redis `INFO commandstats` and `SLOWLOG GET`. Paths: impression, live, ad, scores, put_events, and on 1M seeded
// session events (as the sessions scenario seeds them) end_players (a random player's completed sessions) and window
// (GET /start_players_events/100); `ingest` instead streams BENCH_USERS (100,000) users, 100 per message, over
// SendUserBatchStream and waits until all are stored; `stream` sends BENCH_STREAM_MESSAGES (100,000) RecordPlayerScore
// messages over 8 concurrent streams (window 64 each), as the grpc-scores scenario does.
// The .cpuprofile is kept (its path is printed) for Chrome DevTools / speedscope.

const which = process.argv[2] ?? 'impression'
const seconds = Number(process.argv[3] ?? 8)
const query = 'sdk_version=1.0&session_id=bench-session&platform=android&username=bench-user&country_code=US'
const dir = await mkdtemp(join(tmpdir(), 'playfield-profile-'))
const redis = await startRedisServer({ dir: join(dir, 'redis'), aof: false })
const profDir = join(dir, 'prof')
const ingestEnv = { USERS_REQUIRE_AUTH: 'false', USERS_EXPORT_PATH: join(dir, 'all_users.json'), USERS_EXPORT_DEBOUNCE_MS: '3600000' }
let players: string[] = []
if (which === 'end_players' || which === 'window') {
  const seeded = await seedSessions(redis.url, Date.now())
  players = seeded.players
  log(`seeded ${seeded.events} session events in ${seeded.seconds.toFixed(1)} s`)
}
const ours = await startOurs({ REDIS_URL: redis.url, ...(which === 'ingest' ? ingestEnv : {}) },
  { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] })
try {
  const { jwt } = await (await fetch(`${ours.base}/auth`, { method: 'POST', headers: { authorization: ADMIN_BASIC } }))
    .json() as { jwt: string }
  const us = Date.now() * 1000 - 3_600_000_000
  const ts = (u: number) => new Date(u / 1000).toISOString()
  const specs: Record<string, HttpLoadSpec> = {
    impression: { url: `${ours.base}/impression?${query}` },
    live: { url: `${ours.base}/health/live` },
    ad: { url: `${ours.base}/ad?${query}` },
    scores: {
      url: `${ours.base}/scores`,
      method: 'POST',
      idReplacement: true,
      body: JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ name: `p${i}-[<id>]`, score: 1000 + i }))),
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }
    },
    put_events: {
      url: `${ours.base}/put_events`,
      method: 'POST',
      idReplacement: true,
      body: JSON.stringify(Array.from({ length: 5 }, (_, k) => [
        { event: 'start', player_id: 'b-[<id>]', session_id: `s${k}-[<id>]`, ts: ts(us), country: 'FI' },
        { event: 'end', player_id: 'b-[<id>]', session_id: `s${k}-[<id>]`, ts: ts(us + 60e6) }
      ]).flat()),
      headers: { 'content-type': 'application/json' }
    }
  }
  if (players.length > 0) {
    const pathsFile = join(dir, 'players.txt')
    await writeFile(pathsFile, players.map((_, i) => `/end_players_events/${encodeURIComponent(players[(i * 7919) % players.length]!)}`).join('\n'))
    specs.end_players = { url: ours.base, pathsFile }
    specs.window = { url: `${ours.base}/start_players_events/100` }
  }
  const spec = specs[which]
  if (!spec && which !== 'ingest' && which !== 'stream') {
    throw new Error(`unknown path ${which}; known: ${Object.keys(specs).join(', ')}, ingest, stream`)
  }
  const client = new Redis(redis.url)
  await client.config('SET', 'slowlog-log-slower-than', '1000')
  if (spec) {
    await httpLoad({ ...spec, duration: 1 }, { duration: 1, connections: 100 })
    await client.config('RESETSTAT')
    const r = await httpLoad(spec, { duration: seconds, connections: 100 })
    log(`${which}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`)
  } else if (which === 'stream') {
    await client.config('RESETSTAT')
    const count = Number(process.env.BENCH_STREAM_MESSAGES ?? 100_000)
    const r = await grpcLoad({
      mode: 'bidi', target: 'score', address: ours.grpcAddress, streams: 8, count, window: 64, user: ADMIN_USER, password: ADMIN_PASSWORD
    })
    log(`stream: ${Math.round(r.msgsPerSec)} msgs/s, p50 ${r.p50} ms, p99 ${r.p99} ms`)
  } else {
    const users = Number(process.env.BENCH_USERS ?? 100_000)
    const store = createUsersStore(client)
    await client.config('RESETSTAT')
    const r = await grpcLoad({ mode: 'client-stream', address: ours.grpcAddress, method: 'SendUserBatchStream', from: 0, users, perMessage: 100 })
    while (await store.count() < users) {
      if (Date.now() - r.startedAt > 120_000) throw new Error('users not all stored within 120 s')
      await sleep(5)
    }
    log(`ingest: ${Math.round(users / ((Date.now() - r.startedAt) / 1000))} users/s stored end to end`)
  }
  const stats = (await client.info('commandstats')).split('\n').filter(l => l.startsWith('cmdstat_'))
  const slow = await client.slowlog('GET', 5) as unknown[]
  process.stdout.write(`\nRedis INFO commandstats (measured load only):\n${stats.map(s => `  ${s.trim()}`).join('\n')}\n`)
  process.stdout.write(`Redis SLOWLOG (> 1 ms): ${slow.length} entries ${JSON.stringify(slow).slice(0, 400)}\n`)
  client.disconnect()
} finally {
  await ours.stop()
  await redis.stop()
}

const file = (await readdir(profDir)).find(f => f.endsWith('.cpuprofile'))
if (!file) throw new Error('no .cpuprofile written')
const profile = JSON.parse(await readFile(join(profDir, file), 'utf8')) as {
  nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount: number }>
  samples: number[]
}
const self = new Map<string, number>()
for (const n of profile.nodes) {
  const url = n.callFrame.url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, 'dist/')
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + n.hitCount)
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)
process.stdout.write(`\nTop self time, server process (${total} samples, whole run incl. start):\n`)
for (const [k, v] of top) process.stdout.write(`  ${(100 * v / total).toFixed(1).padStart(5)} %  ${k}\n`)
const kept = join(tmpdir(), `playfield-${which}-${Date.now()}.cpuprofile`)
await import('node:fs/promises').then(fs => fs.copyFile(join(profDir, file), kept))
process.stdout.write(`\nprofile: ${kept}\n`)
await rm(dir, { recursive: true, force: true })
