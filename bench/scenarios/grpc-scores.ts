import {
  ADMIN_PASSWORD, ADMIN_USER, figure, grpcLoad, interleave, startBareGrpc, startOurs, type BenchContext,
  type BenchResult, type Sample
} from '../lib.js'

// RecordPlayerScore (each message an atomic Lua script: all-time + day bucket + 30-day view, answered with both
// ranks) against a bare grpc-js bidi echo, with 1 and with 8 concurrent streams on one channel. Server, bare echo
// and the load client (bench/procs/grpc-load.ts) each in their own process; rounds interleaved.

const MESSAGES = Number(process.env.BENCH_STREAM_MESSAGES ?? 20_000)

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const bare = await startBareGrpc()
  const ours = await startOurs({ REDIS_URL: ctx.redis.url, WORKERS_ENABLED: 'false' })
  try {
    const out: BenchResult[] = []
    for (const [streams, window] of [[1, 256], [8, 64]] as const) {
      const load = async (target: 'echo' | 'score', count: number): Promise<Sample> => {
        const r = await grpcLoad({
          mode: 'bidi',
          target,
          address: target === 'echo' ? bare.address : ours.grpcAddress,
          streams,
          count,
          window,
          user: ADMIN_USER,
          password: ADMIN_PASSWORD
        })
        return { value: r.msgsPerSec, p50: r.p50, p99: r.p99 }
      }
      await load('echo', 2000)
      await load('score', 2000)
      const s = await interleave(ctx.rounds, () => load('echo', MESSAGES), () => load('score', MESSAGES))
      out.push(figure({
        figure: `RecordPlayerScore, ${streams} stream${streams > 1 ? 's' : ''} (${MESSAGES.toLocaleString('en-US')} ` +
          `msgs, window ${window} per stream)`,
        unit: 'msgs/s',
        baselineName: 'bare grpc-js bidi echo',
        target: '≥ 0.7 of bare',
        ...s
      }))
    }
    return out
  } finally {
    await ours.stop()
    await bare.stop()
  }
}
