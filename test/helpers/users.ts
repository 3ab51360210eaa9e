import { setTimeout as sleep } from 'node:timers/promises'
import { Metadata, type Client, type ClientWritableStream } from '@grpc/grpc-js'
import type { FastifyInstance } from 'fastify'
import { Users } from '../../src/grpc/contract.js'
import type { IngestReply } from '../../src/plugins/users/service.js'
import { perKey } from '../../src/plugins/infra/gather.js'
import { allKeys, build, deadline, grpcClient, redisClient, type BuildOptions } from './app.js'

type Test = import('tap').Test

export type UsersStub = Client & {
  SendUserInfo (req: object, md: Metadata, opts: object, cb: (err: any, res: IngestReply) => void): void
  SendUserInfoClientStream (md: Metadata, opts: object, cb: (err: any, res: IngestReply) => void):
  ClientWritableStream<object>
  SendUserBatchStream (md: Metadata, opts: object, cb: (err: any, res: IngestReply) => void):
  ClientWritableStream<object>
}

/**
 * Builds the app on the test file's Redis (one node or the cluster) after deleting every key, so each test starts
 * with no users and no jobs.
 */
export async function freshApp (t: Test, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const redis = await redisClient(t)
  await redis.ping() // a cluster client knows its masters once connected
  await perKey(redis, await allKeys(redis), (p, key) => { p.del(key) })
  return await build(t, opts)
}

export function usersClient (t: Test, app: FastifyInstance): UsersStub {
  return grpcClient<UsersStub>(t, app, Users)
}

export function bearer (token?: string): Metadata {
  const md = new Metadata()
  if (token) md.set('authorization', `Bearer ${token}`)
  return md
}

export function sendOne (client: UsersStub, req: object, md = new Metadata()): Promise<IngestReply> {
  return new Promise((resolve, reject) => {
    client.SendUserInfo(req, md, { deadline: deadline() }, (err, res) => err ? reject(err) : resolve(res))
  })
}

/** Sends all records on one client stream, honouring drain. */
export async function sendStream (client: UsersStub, records: object[], md = new Metadata(), ms = 30_000):
Promise<IngestReply> {
  let call!: ClientWritableStream<object>
  const reply = new Promise<IngestReply>((resolve, reject) => {
    call = client.SendUserInfoClientStream(md, { deadline: deadline(ms) },
      (err, res) => err ? reject(err) : resolve(res))
  })
  for (const r of records) {
    if (!call.write(r)) await new Promise(resolve => { call.once('drain', resolve); call.once('status', resolve) })
  }
  call.end()
  return await reply
}

/** Sends the records on one SendUserBatchStream, `perMessage` users per message, honouring drain. */
export async function sendBatchStream (client: UsersStub, records: object[], perMessage: number,
  md = new Metadata(), ms = 30_000): Promise<IngestReply> {
  let call!: ClientWritableStream<object>
  const reply = new Promise<IngestReply>((resolve, reject) => {
    call = client.SendUserBatchStream(md, { deadline: deadline(ms) }, (err, res) => err ? reject(err) : resolve(res))
  })
  for (let i = 0; i < records.length; i += perMessage) {
    const message = { users: records.slice(i, i + perMessage) }
    if (!call.write(message)) await new Promise(resolve => { call.once('drain', resolve); call.once('status', resolve) })
  }
  call.end()
  return await reply
}

export const user = (i: number, over: Record<string, unknown> = {}) => ({
  id: (i % 1000) + 1,
  user_name: `user${i}`,
  email: `user${i}@example.com`,
  first_name: `First${i}`,
  last_name: `Last${i}`,
  ip_address: `10.0.${(i >> 8) & 255}.${i & 255}`,
  gender: i % 2 === 0 ? 'Female' : 'Male',
  country: 'TR',
  agent: 'Mozilla/5.0',
  ...over
})

export async function waitFor (predicate: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await predicate()) return
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Waits until the ingest queue is drained (nothing waiting, delayed or active). */
export async function ingestIdle (app: FastifyInstance, timeoutMs = 30_000): Promise<void> {
  const q = app.queues.queue('users', 'ingest')
  await waitFor(async () => {
    const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused')
    return Object.values(c).every(n => n === 0)
  }, timeoutMs, 'the ingest queue to drain')
}
