import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { LeaderBoard, Users } from '../../src/grpc/contract.js'

// The gRPC load generator, in its own process. argv[2] is a JSON spec:
//  { mode: 'bidi', target: 'echo' | 'score', address, streams, count, window, user?, password? }
//    `streams` concurrent bidi calls on one channel, `count` messages in all, each call keeping at most `window`
//    unanswered (honouring write()/'drain'); latency per message from write to its answer.
//  { mode: 'client-stream', address, method: 'SendUserInfoClientStream' | 'SendUserBatchStream', from, users,
//    perMessage }: one client stream of `users` user records, honouring 'drain'.
// Prints one JSON line: { msgsPerSec, p50, p99, count, startedAt, finishedAt } (epoch ms).

const here = fileURLToPath(new URL('.', import.meta.url))
const spec = JSON.parse(process.argv[2] ?? '{}')
const deadline = () => new Date(Date.now() + 120_000)

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function driveBidi (call: grpc.ClientDuplexStream<any, any>, make: (i: number) => unknown, count: number,
  window: number, latencies: number[]): Promise<void> {
  const sentAt: number[] = new Array(count)
  let sent = 0
  let received = 0
  await new Promise<void>((resolve, reject) => {
    let waitingDrain = false
    const pump = () => {
      while (sent < count && sent - received < window && !waitingDrain) {
        sentAt[sent] = performance.now()
        const ok = call.write(make(sent))
        sent++
        if (!ok) {
          waitingDrain = true
          call.once('drain', () => { waitingDrain = false; pump() })
        }
      }
      if (sent === count) call.end()
    }
    call.on('data', () => {
      latencies.push(performance.now() - sentAt[received]!)
      received++
      if (received === count) resolve()
      else pump()
    })
    call.on('error', reject)
    pump()
  })
}

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

async function bidi () {
  const creds = grpc.credentials.createInsecure()
  let client: any
  let open: () => grpc.ClientDuplexStream<any, any>
  if (spec.target === 'echo') {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(join(here, '..', 'echo.proto'), { keepCase: true })) as any
    client = new pkg.bench.Echo(spec.address, creds)
    open = () => client.Echo({ deadline: deadline() })
  } else {
    client = new LeaderBoard(spec.address, creds)
    const token = await new Promise<string>((resolve, reject) => {
      client.AuthenticateUser({ data: Buffer.from(`${spec.user}:${spec.password}`).toString('base64') },
        { deadline: deadline() }, (err: Error | null, res: { token: string }) => err ? reject(err) : resolve(res.token))
    })
    const md = new grpc.Metadata()
    md.set('authorization', `Bearer ${token}`)
    open = () => client.RecordPlayerScore(md, { deadline: deadline() })
  }
  const latencies: number[] = []
  const per = Math.floor(spec.count / spec.streams)
  const startedAt = Date.now()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: spec.streams }, (_, s) =>
    driveBidi(open(), (i) => ({ name: `player-${(s * per + i) % 1000}`, score: i }), per, spec.window, latencies)))
  const seconds = (performance.now() - t0) / 1000
  client.close()
  latencies.sort((a, b) => a - b)
  return {
    msgsPerSec: (per * spec.streams) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    count: per * spec.streams,
    startedAt,
    finishedAt: Date.now()
  }
}

async function clientStream () {
  const client = new Users(spec.address, grpc.credentials.createInsecure()) as any
  const { from, users, perMessage } = spec as { from: number, users: number, perMessage: number }
  const startedAt = Date.now()
  const t0 = performance.now()
  let call!: grpc.ClientWritableStream<object>
  const reply = new Promise<{ accepted: number }>((resolve, reject) => {
    const cb = (err: Error | null, res: { accepted: number }) => err ? reject(err) : resolve(res)
    call = client[spec.method](new grpc.Metadata(), { deadline: deadline() }, cb)
  })
  for (let i = from; i < from + users; i += perMessage) {
    const message = perMessage === 1
      ? user(i)
      : { users: Array.from({ length: Math.min(perMessage, from + users - i) }, (_, j) => user(i + j)) }
    if (!call.write(message)) await new Promise(resolve => call.once('drain', resolve))
  }
  call.end()
  const { accepted } = await reply
  const seconds = (performance.now() - t0) / 1000
  client.close()
  if (accepted !== users) throw new Error(`accepted ${accepted} of ${users}`)
  return { msgsPerSec: users / seconds, p50: 0, p99: 0, count: users, startedAt, finishedAt: Date.now() }
}

const out = spec.mode === 'bidi' ? await bidi() : await clientStream()
process.stdout.write(JSON.stringify(out) + '\n')
