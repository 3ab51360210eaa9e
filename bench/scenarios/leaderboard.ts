import { credentials, Metadata } from '@grpc/grpc-js'
import { Redis } from 'ioredis'
import { LeaderBoard } from '../../src/grpc/contract.js'
import { driveBidi, percentile, ratioOf, type BenchContext, type BenchResult } from '../lib.js'

// 1. One RecordPlayerScore stream pushing submissions as fast as it may (a bounded window of unanswered messages,
//    honouring write()/'drain'), beside a bare grpc-js bidi echo stream with the same count and window.
// 2. A board of 1,000,000 players: p50/p99 of a page, a rank lookup and an around_me query (service calls, one
//    Redis script each), beside a bare ZRANGE of one page on the same set.

const STREAM_MESSAGES = 20_000
const STREAM_WINDOW = 256
const BOARD_PLAYERS = 1_000_000
const QUERIES = 2_000

type Timing = { p50: number, p99: number, perSec: number }
async function timed (n: number, fn: (i: number) => Promise<unknown>): Promise<Timing> {
  const lat: number[] = []
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const s = performance.now()
    await fn(i)
    lat.push(performance.now() - s)
  }
  const seconds = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perSec: n / seconds }
}

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  const started = await ctx.startApp({ WORKERS_ENABLED: 'false' })
  const client = new LeaderBoard(started.grpcAddress, credentials.createInsecure()) as any
  try {
    const token = await new Promise<string>((resolve, reject) => {
      client.AuthenticateUser({ data: Buffer.from('admin:admin-password').toString('base64') },
        { deadline: new Date(Date.now() + 5000) },
        (err: Error | null, res: { token: string }) => err ? reject(err) : resolve(res.token))
    })
    const md = new Metadata()
    md.set('authorization', `Bearer ${token}`)

    const bare = await ctx.bareGrpcEcho(STREAM_MESSAGES, STREAM_WINDOW)
    ctx.log('leaderboard: RecordPlayerScore stream')
    const ours = await driveBidi(client.RecordPlayerScore(md), (i) => ({ name: `player-${i % 1000}`, score: i }),
      STREAM_MESSAGES, STREAM_WINDOW)
    results.push({
      figure: `RecordPlayerScore, one stream (${STREAM_MESSAGES.toLocaleString('en-US')} msgs, window ${STREAM_WINDOW})`,
      unit: 'msgs/s',
      ours: ours.msgsPerSec,
      baseline: bare.msgsPerSec,
      baselineName: 'bare grpc-js bidi echo',
      ratio: ratioOf(ours.msgsPerSec, bare.msgsPerSec),
      p50: ours.p50,
      p99: ours.p99,
      note: 'each message applied by an atomic Lua script (all-time + day bucket + 30-day view), answered with both ranks'
    })

    // The 1M board is written straight into the all-time set (negated scores, as the store keeps them):
    // going through the stream would take longer than this scenario's budget.
    ctx.log('leaderboard: filling a board of 1,000,000 players')
    const redis = new Redis(ctx.redis.url)
    try {
      const key = 'lb:{million}:all'
      for (let i = 0; i < BOARD_PLAYERS; i += 10_000) {
        const args: Array<string | number> = []
        for (let j = i; j < i + 10_000; j++) args.push(-((j * 2_654_435_761) % 5_000_000), `p${j}`)
        await redis.zadd(key, ...args)
      }
      const lb = started.app.leaderboard
      const pages = BOARD_PLAYERS / started.app.config.PAGE_SIZE
      const rand = (n: number) => Math.floor(Math.random() * n)
      const size = started.app.config.PAGE_SIZE
      const raw = await timed(QUERIES, async () => { const s = rand(BOARD_PLAYERS - size); await redis.zrange(key, s, s + size - 1, 'WITHSCORES') })
      const page = await timed(QUERIES, () => lb.page({ board: 'million', page: 1 + rand(pages) }))
      const rank = await timed(QUERIES, () => lb.player(`p${rand(BOARD_PLAYERS)}`, { board: 'million' }))
      const around = await timed(QUERIES, () => lb.page({ board: 'million', page: 1, name: `p${rand(BOARD_PLAYERS)}` }))
      const rawBase = { baseline: raw.p50, baselineName: 'bare ZRANGE of one page, p50 ms' }
      results.push({ figure: '1M board: a random page', unit: 'ms p50', ours: page.p50, p50: page.p50, p99: page.p99, ...rawBase, ratio: ratioOf(page.p50, raw.p50) })
      results.push({ figure: '1M board: a player\'s rank', unit: 'ms p50', ours: rank.p50, p50: rank.p50, p99: rank.p99, ...rawBase, ratio: ratioOf(rank.p50, raw.p50) })
      results.push({
        figure: '1M board: page 1 + around_me of a random player',
        unit: 'ms p50',
        ours: around.p50,
        p50: around.p50,
        p99: around.p99,
        ...rawBase,
        ratio: ratioOf(around.p50, raw.p50),
        note: `${QUERIES} sequential queries each, in process (service → Redis script)`
      })
    } finally {
      redis.disconnect()
    }
  } finally {
    client.close()
    await started.close()
  }
  return results
}
