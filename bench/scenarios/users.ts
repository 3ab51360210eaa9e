import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { credentials, Metadata, type ClientWritableStream } from '@grpc/grpc-js'
import { Redis } from 'ioredis'
import { Users } from '../../src/grpc/contract.js'
import { createUsersStore } from '../../src/plugins/users/redis-store.js'
import { ratioOf, type BenchContext, type BenchResult } from '../lib.js'

// 100,000 users over one client stream until all are stored (validate → 500-record jobs → workers → Lua upsert), end
// to end, once over the original SendUserInfoClientStream (one user per message) and once over SendUserBatchStream
// (PER_MESSAGE users per message, as `playfield users import` sends them); beside raw BullMQ moving the same
// records as 500-record jobs (addBulk + no-op worker). The client is a default grpc-js client honouring 'drain'.

const USERS = 100_000
const BATCH = 500
const PER_MESSAGE = 100

const user = (i: number) => ({
  id: (i % 1000) + 1,
  user_name: `user${i}`,
  email: `user${i}@example.com`,
  first_name: `First${i}`,
  last_name: 'Öztürk',
  ip_address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  gender: i % 2 ? 'Male' : 'Female',
  country: 'Turkey',
  agent: 'Mozilla/5.0 (X11; Linux x86_64)'
})

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'playfield-bench-users-'))
  const started = await ctx.startApp({
    USERS_REQUIRE_AUTH: 'false',
    USERS_BATCH_SIZE: String(BATCH),
    WORKER_CONCURRENCY: '8',
    USERS_EXPORT_PATH: join(dir, 'all_users.json'),
    USERS_EXPORT_DEBOUNCE_MS: '3600000'
  })
  const redis = new Redis(ctx.redis.url)
  const store = createUsersStore(redis)
  try {
    const client = new Users(started.grpcAddress, credentials.createInsecure()) as any

    // Users from..from+USERS over one stream, `perMessage` users per message (1: the original method).
    async function ingest (from: number, perMessage: number) {
      const t0 = performance.now()
      let call!: ClientWritableStream<object>
      const reply = new Promise<{ accepted: number }>((resolve, reject) => {
        const cb = (err: Error | null, res: { accepted: number }) => err ? reject(err) : resolve(res)
        const opts = { deadline: Date.now() + 60_000 }
        call = perMessage === 1
          ? client.SendUserInfoClientStream(new Metadata(), opts, cb)
          : client.SendUserBatchStream(new Metadata(), opts, cb)
      })
      for (let i = from; i < from + USERS; i += perMessage) {
        const message = perMessage === 1
          ? user(i)
          : { users: Array.from({ length: Math.min(perMessage, from + USERS - i) }, (_, j) => user(i + j)) }
        if (!call.write(message)) await new Promise(resolve => call.once('drain', resolve))
      }
      call.end()
      const { accepted } = await reply
      const queuedSec = (performance.now() - t0) / 1000
      while (await store.count() < from + USERS) {
        if (performance.now() - t0 > 60_000) throw new Error('users not all stored within 60 s')
        await sleep(10)
      }
      const storedSec = (performance.now() - t0) / 1000
      if (accepted !== USERS) throw new Error(`accepted ${accepted} of ${USERS}`)
      ctx.log(`users (${perMessage}/message): queued in ${queuedSec.toFixed(2)} s, stored in ${storedSec.toFixed(2)} s`)
      return { queuedSec, storedSec }
    }

    const single = await ingest(0, 1)
    const batched = await ingest(USERS, PER_MESSAGE)
    client.close()

    // Raw BullMQ moving the same records: 500-record jobs added 10 at a time, a no-op worker.
    const payload = { records: Array.from({ length: BATCH }, (_, i) => user(i)) }
    const rawUsersPerSec = (await ctx.rawBullmq(USERS / BATCH, payload, 10, 8)).jobsPerSec * BATCH
    const baselineName = 'raw BullMQ addBulk + no-op worker, 500 records per job'
    const figure = (name: string, r: { queuedSec: number, storedSec: number }): BenchResult[] => {
      const ours = USERS / r.storedSec
      return [
        {
          figure: `users: 100k over one ${name}, stored end to end`,
          unit: 'users/s',
          ours: Math.round(ours),
          baseline: Math.round(rawUsersPerSec),
          baselineName,
          ratio: ratioOf(ours, rawUsersPerSec),
          target: '>= 20000 users/s',
          note: `stream answered (all durably queued) after ${r.queuedSec.toFixed(2)} s`
        },
        { figure: `users: 100k over one ${name}, durably queued`, unit: 'users/s', ours: Math.round(USERS / r.queuedSec) }
      ]
    }
    return [
      ...figure('SendUserInfoClientStream (1 user/message)', single),
      ...figure(`SendUserBatchStream (${PER_MESSAGE} users/message)`, batched)
    ]
  } finally {
    redis.disconnect()
    await started.close()
    await rm(dir, { recursive: true, force: true })
  }
}
