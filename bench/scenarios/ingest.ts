import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { createUsersStore } from '../../src/plugins/users/redis-store.js'
import {
  figure, grpcLoad, interleave, startBareGrpc, startOurs, type BenchContext, type BenchResult, type Sample
} from '../lib.js'

// User ingest over one client stream (bench/procs/grpc-load.ts, its own process), stored end to end by the built
// server's queue workers (validate → jobs → workers → Redis), timed from the first write until the store counts
// every user: SendUserInfoClientStream (1 user per message) against the same client stream into a bare grpc-js
// handler that only counts, and SendUserBatchStream (100 users per message, as `playfield users import` sends).

const USERS = Number(process.env.BENCH_USERS ?? 100_000)
const PER_MESSAGE = 100

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const dir = ctx.tmp('ingest')
  await mkdir(dir, { recursive: true })
  const bare = await startBareGrpc()
  const ours = await startOurs({
    REDIS_URL: ctx.redis.url,
    USERS_REQUIRE_AUTH: 'false',
    USERS_EXPORT_PATH: `${dir}/all_users.json`,
    USERS_EXPORT_DEBOUNCE_MS: '3600000'
  })
  const redis = new Redis(ctx.redis.url)
  const store = createUsersStore(redis)
  let from = 0
  try {
    const stored = async (perMessage: number): Promise<Sample> => {
      const method = perMessage === 1 ? 'SendUserInfoClientStream' : 'SendUserBatchStream'
      const r = await grpcLoad({ mode: 'client-stream', address: ours.grpcAddress, method, from, users: USERS, perMessage })
      const want = from + USERS
      from = want
      while (await store.count() < want) {
        if (Date.now() - r.startedAt > 120_000) throw new Error(`users not all stored within 120 s (${method})`)
        await sleep(5)
      }
      return { value: USERS / ((Date.now() - r.startedAt) / 1000), p50: 0, p99: 0 }
    }
    const bareLoad = async (perMessage: number): Promise<Sample> => {
      const method = perMessage === 1 ? 'SendUserInfoClientStream' : 'SendUserBatchStream'
      const r = await grpcLoad({ mode: 'client-stream', address: bare.address, method, from: 0, users: USERS, perMessage })
      return { value: USERS / ((r.finishedAt - r.startedAt) / 1000), p50: 0, p99: 0 }
    }
    const one = await interleave(ctx.rounds, () => bareLoad(1), () => stored(1))
    const batched = await interleave(ctx.rounds, () => bareLoad(PER_MESSAGE), () => stored(PER_MESSAGE))
    const note = `${USERS.toLocaleString('en-US')} users per round over one stream, timed from the first write until all are stored`
    return [
      figure({
        figure: 'Ingest, 1 user per message (SendUserInfoClientStream), stored end to end',
        unit: 'users/s',
        baselineName: 'bare grpc-js client stream, 1 user per message',
        target: '≥ 0.3 of bare',
        note,
        ...one
      }),
      figure({
        figure: `Ingest, ${PER_MESSAGE} users per message (SendUserBatchStream), stored end to end`,
        unit: 'users/s',
        baselineName: `bare grpc-js client stream, ${PER_MESSAGE} users per message`,
        target: '≥ 50,000 users/s',
        note,
        ...batched
      })
    ]
  } finally {
    redis.disconnect()
    await ours.stop()
    await bare.stop()
  }
}
