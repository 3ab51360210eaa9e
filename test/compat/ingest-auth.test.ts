import t from 'tap'
import { Metadata, status, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js'
import { send } from '../../src/grpc/streams.js'
import { richStatusOf } from '../../src/grpc/rich-status.js'
import { LeaderBoard } from '../../src/grpc/contract.js'
import type { LeaderBoardClient } from '../../src/grpc/generated/leaderboard/LeaderBoard.js'
import type { IngestReply } from '../../src/plugins/users/service.js'
import { deadline, grpcClient } from '../helpers/app.js'
import { bearer, freshApp, ingestIdle, sendOne, user, usersClient, type UsersStub } from '../helpers/users.js'

// The original ingest client sends no credentials. With the default USERS_REQUIRE_AUTH=true it must be refused in
// terms it can act on: how to authenticate, and how an operator lets it in unchanged.

type Test = import('tap').Test
const N = 9000

/** Streams every record (or batch message) honouring drain; resolves with the reply or rejects with the status. */
type Open = (cb: (err: ServiceError | null, res?: IngestReply) => void) => ClientWritableStream<object>

async function stream (call: Open, messages: object[]): Promise<IngestReply> {
  let finished = false
  let w!: ClientWritableStream<object>
  const reply = new Promise<IngestReply>((resolve, reject) => {
    w = call((err, res) => { finished = true; if (err) reject(err); else resolve(res!) })
  })
  reply.catch(() => {})
  for (const m of messages) {
    if (finished) break
    await send(w, m, () => finished)
  }
  w.end()
  return await reply
}

function checkRefusal (t: Test, err: ServiceError) {
  t.equal(err.code, status.UNAUTHENTICATED)
  t.match(err.details, /^missing metadata "authorization: Bearer <token>": /)
  t.match(err.details, 'leaderboard.LeaderBoard/AuthenticateUser', 'says where to get a token')
  t.match(err.details, 'USERS_REQUIRE_AUTH=false', 'says how an operator turns the requirement off')
  const rich = richStatusOf(err.metadata)
  t.equal(rich?.code, err.code)
  t.equal(rich?.message, err.details)
  t.same(rich?.errorInfo, { reason: 'TOKEN_MISSING', domain: 'playfield', metadata: {} })
}

const users = Array.from({ length: N }, (_, i) => user(i + 1))

t.test('without credentials every ingest method is UNAUTHENTICATED with a message that says what to do', async (t) => {
  const app = await freshApp(t)
  const client = usersClient(t, app)

  // The per-record path: each SendUserInfo is refused with the same actionable message.
  const unary = await Promise.allSettled(users.slice(0, 20).map(u => sendOne(client, u)))
  t.equal(unary.length, 20)
  for (const r of unary) {
    t.equal(r.status, 'rejected')
    if (r.status === 'rejected') checkRefusal(t, r.reason as ServiceError)
  }

  // 9,000 users on one client stream, as the original client sends them: refused before the first is read.
  const opts = { deadline: deadline(60_000) }
  const single = await stream(cb => client.SendUserInfoClientStream(new Metadata(), opts, cb), users)
    .then(() => undefined, (err: ServiceError) => err)
  t.ok(single, 'the stream failed')
  checkRefusal(t, single!)

  const batches = []
  for (let i = 0; i < N; i += 100) batches.push({ users: users.slice(i, i + 100) })
  const batched = await stream(cb => client.SendUserBatchStream(new Metadata(), opts, cb), batches)
    .then(() => undefined, (err: ServiceError) => err)
  checkRefusal(t, batched!)

  // An unknown token says how to get a valid one.
  const bad = await sendOne(client, users[0]!, bearer('0123456789abcd')).then(() => undefined, (err: ServiceError) => err)
  t.equal(bad?.code, status.UNAUTHENTICATED)
  t.match(bad?.details, /^invalid or revoked token: get a token from leaderboard\.LeaderBoard\/AuthenticateUser/)
  t.match(bad?.details, 'USERS_REQUIRE_AUTH=false')

  await ingestIdle(app)
  const stats = await app.users.stats()
  t.equal(stats.stored, 0, 'nothing stored')
  t.same(stats.queue, { waiting: 0, active: 0, failed: 0 }, 'nothing queued')
})

t.test('following the message works: a token from AuthenticateUser lets all 9,000 in', async (t) => {
  const app = await freshApp(t)
  const lb = grpcClient<LeaderBoardClient>(t, app, LeaderBoard)
  const token = await new Promise<string>((resolve, reject) => {
    lb.AuthenticateUser({ data: Buffer.from('admin:admin-password').toString('base64') }, { deadline: deadline() },
      (err, res) => err ? reject(err) : resolve(res!.token))
  })
  const client: UsersStub = usersClient(t, app)
  const opts = { deadline: deadline(120_000) }
  const reply = await stream(cb => client.SendUserInfoClientStream(bearer(token), opts, cb), users)
  t.equal(reply.received, N)
  t.equal(reply.accepted, N)
  await ingestIdle(app, 120_000)
  t.equal((await app.users.stats()).stored, N)
})

t.test('with USERS_REQUIRE_AUTH=false the original client, sending no credentials, stores all 9,000', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const client = usersClient(t, app)
  const opts = { deadline: deadline(120_000) }
  const reply = await stream(cb => client.SendUserInfoClientStream(new Metadata(), opts, cb), users)
  t.equal(reply.status, true)
  t.equal(reply.accepted, N)
  await ingestIdle(app, 120_000)
  t.equal((await app.users.stats()).stored, N)
})
