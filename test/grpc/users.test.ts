import t from 'tap'
import { status } from '@grpc/grpc-js'
import { bearer, freshApp, ingestIdle, sendBatchStream, sendOne, sendStream, user, usersClient } from '../helpers/users.js'

t.test('SendUserInfo queues one valid user and the worker stores it', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const client = usersClient(t, app)
  const reply = await sendOne(client, user(1, { first_name: 'Oğuz', last_name: 'Çelik' }))
  t.same(reply, {
    status: true,
    message: '1 of 1 records durably queued (0 duplicates, 0 rejected)',
    received: 1,
    accepted: 1,
    duplicates: 0,
    rejected: 0,
    errors: [],
    jobs: 1
  })
  await ingestIdle(app)
  const stored = await app.users.get('USER1@example.com')
  t.equal(stored.first_name, 'Oğuz')
  t.equal(stored.last_name, 'Çelik')
  t.equal(stored.email, 'user1@example.com')
})

t.test('SendUserInfo answers status false with the reason for an invalid user', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const client = usersClient(t, app)
  const reply = await sendOne(client, user(2, { email: 'not-an-email' }))
  t.equal(reply.status, false)
  t.equal(reply.accepted, 0)
  t.equal(reply.rejected, 1)
  t.equal(reply.jobs, 0)
  t.same(reply.errors, [{ index: 0, message: 'email "not-an-email" is not a valid address' }])
})

t.test('the client stream rejects invalid records by index and queues the valid ones', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_BATCH_SIZE: '3' } })
  const client = usersClient(t, app)
  const records = [
    user(10),
    user(11, { email: '' }),
    user(12, { ip_address: '999.1.1.1' }),
    user(13),
    user(10), // same content again: a duplicate
    user(14, { user_name: '' }),
    user(10, { last_name: 'Changed' }), // same email, new content: accepted (the later one wins)
    user(15, { ip_address: '2001:db8::1' }),
    user(16, { first_name: 'x'.repeat(129) })
  ]
  const reply = await sendStream(client, records)
  t.equal(reply.status, true)
  t.equal(reply.received, 9)
  t.equal(reply.accepted, 4)
  t.equal(reply.duplicates, 1)
  t.equal(reply.rejected, 4)
  t.equal(reply.jobs, 2)
  t.same(reply.errors, [
    { index: 1, message: 'email is required' },
    { index: 2, message: 'ip_address "999.1.1.1" is not an IPv4 or IPv6 address' },
    { index: 5, message: 'user_name is required' },
    { index: 8, message: 'first_name is longer than 128 characters' }
  ])
  await ingestIdle(app)
  const page = await app.users.list(undefined, 100)
  t.same(page.users.map(u => u.email), ['user10@example.com', 'user13@example.com', 'user15@example.com'])
  t.equal(page.users[0]!.last_name, 'Changed')
  t.same(await app.users.stats().then(s => ({ inserted: s.inserted, updated: s.updated })), { inserted: 3, updated: 1 })
})

t.test('SendUserBatchStream counts and indexes records across its messages like the single-record stream', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_BATCH_SIZE: '3' } })
  const client = usersClient(t, app)
  const records = [
    user(40), user(41, { email: 'bad' }), user(42), // message 1
    user(43), user(40), user(44, { ip_address: 'x' }), // message 2: a duplicate of record 0, an invalid ip
    user(45, { user_name: '' }), user(46), user(47) // message 3
  ]
  const reply = await sendBatchStream(client, records, 3)
  t.same({ ...reply, message: undefined }, {
    status: true,
    message: undefined,
    received: 9,
    accepted: 5,
    duplicates: 1,
    rejected: 3,
    errors: [
      { index: 1, message: 'email "bad" is not a valid address' },
      { index: 5, message: 'ip_address "x" is not an IPv4 or IPv6 address' },
      { index: 6, message: 'user_name is required' }
    ],
    jobs: 2
  })
  await ingestIdle(app)
  const page = await app.users.list(undefined, 100)
  t.same(page.users.map(u => u.email), [40, 42, 43, 46, 47].map(i => `user${i}@example.com`))
})

t.test('SendUserBatchStream queues 5,000 users in messages of 250 with several batches in flight', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_BATCH_SIZE: '100' } })
  const records = Array.from({ length: 5000 }, (_, i) => user(5000 + i))
  const reply = await sendBatchStream(usersClient(t, app), records, 250)
  t.same({ accepted: reply.accepted, jobs: reply.jobs }, { accepted: 5000, jobs: 50 })
  await ingestIdle(app)
  t.equal((await app.users.stats()).stored, 5000)
})

t.test('SendUserBatchStream needs the token when USERS_REQUIRE_AUTH is on', async (t) => {
  const app = await freshApp(t)
  const client = usersClient(t, app)
  await t.rejects(sendBatchStream(client, [user(50)], 10), { code: status.UNAUTHENTICATED })
  const token = await app.auth.issueToken('admin')
  t.equal((await sendBatchStream(client, [user(50), user(51)], 10, bearer(token))).accepted, 2)
})

t.test('the same users sent again are stored once and counted unchanged', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_BATCH_SIZE: '50' } })
  const client = usersClient(t, app)
  const records = Array.from({ length: 120 }, (_, i) => user(1000 + i))
  await sendStream(client, records)
  await ingestIdle(app)
  const second = await sendStream(client, records.map(r => ({ ...r, email: r.email.toUpperCase() })))
  t.equal(second.accepted, 120)
  await ingestIdle(app)
  const stats = await app.users.stats()
  t.equal(stats.stored, 120)
  t.equal(stats.inserted, 120)
  // The upper-cased email is a change of the stored record (the identity is the same).
  t.equal(stats.updated, 120)
})

t.test('with USERS_REQUIRE_AUTH a call without a valid token is refused and a token is accepted', async (t) => {
  const app = await freshApp(t)
  const client = usersClient(t, app)
  await t.rejects(sendOne(client, user(20)), { code: status.UNAUTHENTICATED })
  await t.rejects(sendStream(client, [user(20)], bearer('deadbeefdeadbeef')), { code: status.UNAUTHENTICATED })
  const token = await app.auth.issueToken('admin')
  t.equal((await sendOne(client, user(20), bearer(token))).accepted, 1)
  t.equal((await sendStream(client, [user(21), user(22)], bearer(token))).accepted, 2)
})

t.test('with USERS_REQUIRE_AUTH=false the original unauthenticated clients work', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const client = usersClient(t, app)
  t.equal((await sendStream(client, [user(30)])).status, true)
})

t.test('an empty client stream answers status true with no records', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const reply = await sendStream(usersClient(t, app), [])
  t.same({ status: reply.status, message: reply.message, received: reply.received, jobs: reply.jobs },
    { status: true, message: 'no records received', received: 0, jobs: 0 })
})
