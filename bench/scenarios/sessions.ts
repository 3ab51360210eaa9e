import { writeFile } from 'node:fs/promises'
import { Redis } from 'ioredis'
import { createRedisStore } from '../../src/plugins/sessions/redis-store.js'
import { validateEvent } from '../../src/plugins/sessions/service.js'
import { batches, clientTimestamp, generateSessions, toEvents } from '../../src/cli/session-generator.js'
import type { SessionEvent } from '../../src/plugins/sessions/store.js'
import {
  figure, httpSample, interleave, log, startBareHttp, startOurs, type BenchContext, type BenchResult
} from '../lib.js'

// Player sessions on the Redis store with 1,000,000 stored events (500,000 completed sessions of 50,000 players in
// 20 countries over 30 days, seeded straight through the store's own script, 200 events a call, 16 in flight),
// then the built server against bare Fastify: POST /put_events with 10 fresh events per request, a random
// player's completed sessions, and GET /start_players_events/100 against a bare Fastify route answering a JSON
// body of the same size. Rounds interleaved.

/**
 * Seeds completed sessions (`playersPerCountry` players × 10 sessions in each of 20 countries over 30 days) straight
 * through the Redis store's own script, 200 events a call, 16 in flight. Returns the player ids and the events/s.
 */
export async function seedSessions (redisUrl: string, nowMs: number, playersPerCountry = 2500):
Promise<{ players: string[], events: number, seconds: number }> {
  const sessions = generateSessions({ nowMs, countries: 20, playersPerCountry, sessionsPerPlayer: 10, seed: 7 })
  const redis = new Redis(redisUrl)
  const t0 = performance.now()
  try {
    const store = createRedisStore({ redis })
    const events = toEvents(sessions).map(e => (validateEvent(e, nowMs) as { event: SessionEvent }).event)
    const chunks = batches(events, 200)
    for (let i = 0; i < chunks.length; i += 16) {
      await Promise.all(chunks.slice(i, i + 16).map(c => store.putEvents(c, nowMs)))
    }
  } finally {
    redis.disconnect()
  }
  const seconds = (performance.now() - t0) / 1000
  return { players: [...new Set(sessions.map(s => s.playerId))], events: sessions.length * 2, seconds }
}

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const nowMs = Date.now()
  const { players, events, seconds: seedSeconds } = await seedSessions(ctx.redis.url, nowMs)
  log(`sessions: seeded ${events} events in ${seedSeconds.toFixed(1)} s`)

  const bare = await startBareHttp()
  const ours = await startOurs({ REDIS_URL: ctx.redis.url })
  let bareBody: Awaited<ReturnType<typeof startBareHttp>> | undefined
  try {
    const out: BenchResult[] = []
    const hello = { url: `${bare.base}/` }
    const target = (t: string) => `${t}; p99 ≤ 2 × bare p99`

    // 10 new events a request: 5 sessions (start + end), their ids made fresh per request by autocannon (-I)
    const us = nowMs * 1000 - 3_600_000_000
    const body = JSON.stringify(Array.from({ length: 5 }, (_, k) => [
      { event: 'start', player_id: 'b-[<id>]', session_id: `s${k}-[<id>]`, ts: clientTimestamp(us), country: 'FI' },
      { event: 'end', player_id: 'b-[<id>]', session_id: `s${k}-[<id>]`, ts: clientTimestamp(us + 60e6) }
    ]).flat())
    const put = { url: `${ours.base}/put_events`, method: 'POST', body, idReplacement: true, headers: { 'content-type': 'application/json' } }
    await ctx.httpLoad({ ...hello, duration: 1 })
    await ctx.httpLoadOk('POST /put_events', { ...put, duration: 1 })
    out.push(figure({
      figure: 'POST /put_events, 10 new events (Redis store, 1M stored)',
      unit: 'req/s',
      baselineName: 'bare Fastify hello',
      target: target('≥ 0.4 of bare'),
      ...await interleave(ctx.rounds,
        async () => httpSample(await ctx.httpLoadOk('bare', hello)),
        async () => httpSample(await ctx.httpLoadOk('POST /put_events', put)))
    }))

    // a random player's completed sessions: paths from a list, so both loads go through bench/procs/http-load.ts
    const playersFile = ctx.tmp('players.txt')
    const shuffled = players.map((p, i) => players[(i * 7919) % players.length] ?? p)
    await writeFile(playersFile, shuffled.map(p => `/end_players_events/${encodeURIComponent(p)}`).join('\n'))
    const rootFile = ctx.tmp('root.txt')
    await writeFile(rootFile, '/\n')
    const completed = { url: ours.base, pathsFile: playersFile }
    const helloList = { url: bare.base, pathsFile: rootFile }
    await ctx.httpLoadOk('GET /end_players_events', { ...completed, duration: 1 })
    out.push(figure({
      figure: 'GET /end_players_events/:id (random of 50,000 players)',
      unit: 'req/s',
      baselineName: 'bare Fastify hello',
      target: target('≥ 0.5 of bare'),
      ...await interleave(ctx.rounds,
        async () => httpSample(await ctx.httpLoadOk('bare', helloList)),
        async () => httpSample(await ctx.httpLoadOk('GET /end_players_events', completed)))
    }))

    // the 100-hour window, against a bare route answering a JSON body of the same size
    const windowUrl = `${ours.base}/start_players_events/100`
    const answer = await (await fetch(windowUrl)).text()
    const bodyFile = ctx.tmp('window.json')
    await writeFile(bodyFile, answer)
    bareBody = await startBareHttp(bodyFile)
    const sameSize = { url: `${bareBody.base}/body` }
    const size = (await (await fetch(sameSize.url)).text()).length
    await ctx.httpLoad({ ...sameSize, duration: 1 })
    await ctx.httpLoadOk('GET /start_players_events/100', { url: windowUrl, duration: 1 })
    out.push(figure({
      figure: 'GET /start_players_events/100 (1M stored)',
      unit: 'req/s',
      baselineName: `bare Fastify, same-size JSON body (${answer.length.toLocaleString('en-US')} bytes ours, ${size.toLocaleString('en-US')} bare)`,
      target: target('≥ 0.5 of bare same-size body'),
      ...await interleave(ctx.rounds,
        async () => httpSample(await ctx.httpLoadOk('bare body', sameSize)),
        async () => httpSample(await ctx.httpLoadOk('GET /start_players_events/100', { url: windowUrl })))
    }))
    out.push({ figure: 'sessions: seed 1,000,000 events through the Redis store script (not a target)', unit: 'events/s', ours: Math.round(1e6 / seedSeconds) })
    return out
  } finally {
    await bareBody?.stop()
    await ours.stop()
    await bare.stop()
  }
}
