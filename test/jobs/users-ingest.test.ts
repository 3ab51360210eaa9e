import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { exportUsers, importUsers } from '../../src/cli/users.js'
import { userKey } from '../../src/plugins/users/redis-store.js'
import { tempDir } from '../helpers/app.js'
import { freshApp, ingestIdle, sendStream, user, usersClient, waitFor } from '../helpers/users.js'

const ADMIN = { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}` }

// The original's data set: 10 files of 1,000 users whose ids run 1–1000 in every file (ids are not identities).
function dataset () {
  const files: Array<Array<Record<string, unknown>>> = []
  for (let f = 0; f < 10; f++) {
    const rows: Array<Record<string, unknown>> = []
    for (let i = 0; i < 1000; i++) {
      rows.push({
        id: i + 1,
        first_name: `First${i}`,
        last_name: `Last${f}`,
        email: `user-${f}-${i}@example.com`,
        gender: i % 2 ? 'Male' : 'Female',
        ip_address: `192.168.${f}.${i % 256}`,
        user_name: `user_${f}_${i}`,
        country: 'Turkey',
        agent: 'Mozilla/5.0 (X11; Linux x86_64)'
      })
    }
    files.push(rows)
  }
  files[2]![10]!.first_name = 'Oğuz'
  files[2]![10]!.last_name = 'Şahin 🎮'
  files[3]![5]!.email = 'broken.example.com'
  files[3]![6]!.ip_address = '300.1.2.3'
  // File 4 repeats the first 50 users of file 0 under other-case emails: same identities.
  for (let i = 0; i < 50; i++) files[4]![i] = { ...files[0]![i]!, email: `USER-0-${i}@Example.com` }
  return files
}

t.test('10 files of 1,000 users (one cut off) end up in the export once each, with intact UTF-8', async (t) => {
  const dir = await tempDir(t)
  const exportPath = join(dir, 'out', 'all_users.json')
  const app = await freshApp(t, { config: { USERS_EXPORT_PATH: exportPath, USERS_EXPORT_DEBOUNCE_MS: '60000' } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const files = dataset()
  for (const [f, rows] of files.entries()) {
    let text = JSON.stringify(rows, null, 2)
    // File 9 is cut off in the middle of its 601st record.
    if (f === 9) text = text.slice(0, text.indexOf('"user-9-600@') + 10)
    await writeFile(join(dir, `MOCK_DATA_${f}.json`), text)
  }
  const out = new PassThrough()
  let printed = ''
  out.on('data', (c: Buffer) => { printed += c.toString() })
  const token = await app.auth.issueToken('admin')
  const reports = await importUsers({ address: `127.0.0.1:${app.grpc.port}`, paths: [dir], token, out })

  t.equal(reports.length, 10)
  t.same(reports.map(r => r.read), [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 600])
  t.same(reports.map(r => r.salvaged), [0, 0, 0, 0, 0, 0, 0, 0, 0, 600])
  t.same(reports.map(r => r.rejected), [0, 0, 0, 2, 0, 0, 0, 0, 0, 0])
  t.same(reports.map(r => r.accepted), [1000, 1000, 1000, 998, 1000, 1000, 1000, 1000, 1000, 600])
  t.same(reports[3]!.errors.map(e => e.index), [5, 6])
  t.match(printed, 'MOCK_DATA_9.json: read 600, salvaged 600 (cut off: salvaged the complete records), ' +
    'sent 600, accepted 600, duplicates 0, rejected 0')

  await ingestIdle(app)
  const status = await exportUsers({
    url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    user: 'admin',
    password: 'admin-password',
    out: new PassThrough()
  })
  t.equal(status.state, 'completed')
  // 9,600 records read, 2 invalid, 50 repeat identities of file 0.
  const expected = 9600 - 2 - 50
  t.equal(status.result?.count, expected)

  const exported = JSON.parse(await readFile(exportPath, 'utf8')) as Array<Record<string, unknown>>
  t.equal(exported.length, expected)
  const emails = exported.map(u => String(u.email).toLowerCase())
  t.equal(new Set(emails).size, expected, 'every email exactly once')
  const wanted = new Set<string>()
  files.forEach((rows, f) => rows.forEach((r, i) => {
    if (f === 9 && i >= 600) return
    if (f === 3 && (i === 5 || i === 6)) return
    wanted.add(String(r.email).toLowerCase())
  }))
  t.same([...emails].sort(), [...wanted].sort())
  t.same(exported.find(u => u.email === 'user-2-10@example.com'), {
    id: 11,
    user_name: 'user_2_10',
    email: 'user-2-10@example.com',
    first_name: 'Oğuz',
    last_name: 'Şahin 🎮',
    ip_address: '192.168.2.10',
    gender: 'Female',
    country: 'Turkey',
    agent: 'Mozilla/5.0 (X11; Linux x86_64)'
  })
  t.same(Object.keys(exported[0]!), ['id', 'user_name', 'email', 'first_name', 'last_name', 'ip_address', 'gender',
    'country', 'agent'])
})

t.test('--unary sends one call per user and reports rejected records by their index in the file', async (t) => {
  const dir = await tempDir(t)
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  await writeFile(join(dir, 'few.json'), JSON.stringify([user(1), user(2, { email: 'nope' }), user(3), user(1)]))
  const [report] = await importUsers({
    address: `127.0.0.1:${app.grpc.port}`, paths: [join(dir, 'few.json')], unary: true, out: new PassThrough()
  })
  // Each unary call is its own ingest: a repeated user is not a duplicate of the call, the store finds it unchanged.
  const { read, sent, accepted, rejected, duplicates } = report!
  t.same({ read, sent, accepted, rejected, duplicates }, { read: 4, sent: 4, accepted: 3, rejected: 1, duplicates: 0 })
  t.same(report!.errors, [{ index: 1, message: 'email "nope" is not a valid address' }])
  await ingestIdle(app)
  const stats = await app.users.stats()
  t.same({ stored: stats.stored, inserted: stats.inserted, unchanged: stats.unchanged },
    { stored: 2, inserted: 2, unchanged: 1 })
})

t.test('the export runs by itself once an ingest has settled', async (t) => {
  const dir = await tempDir(t)
  const exportPath = join(dir, 'all_users.json')
  const app = await freshApp(t, {
    config: { USERS_REQUIRE_AUTH: 'false', USERS_EXPORT_PATH: exportPath, USERS_EXPORT_DEBOUNCE_MS: '200' }
  })
  await sendStream(usersClient(t, app), [user(1), user(2), user(3)])
  await waitFor(async () => {
    try { return JSON.parse(await readFile(exportPath, 'utf8')).length === 3 } catch { return false }
  }, 20_000, 'the debounced export')
  t.pass('the export file holds the 3 users')
})

t.test('a job that keeps failing lands in the dead letters and a replay stores it', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_JOB_ATTEMPTS: '2', USERS_RETRY_BACKOFF_MS: '20' } })
  // A key of the wrong type makes every attempt fail (WRONGTYPE) until an operator repairs it.
  await app.redis.hset(userKey('stuck@example.com'), 'x', '1')
  await sendStream(usersClient(t, app), [user(1, { email: 'stuck@example.com' })])
  type Letter = { queue: string, id: string, failed_reason: string, attempts_made: number }
  type List = { dead_letters: Letter[], total: number }
  let list: List = { dead_letters: [], total: 0 }
  await waitFor(async () => {
    list = (await app.inject({ url: '/admin/dead-letters', headers: ADMIN })).json()
    return list.total === 1
  }, 20_000, 'the dead letter')
  t.equal(list.dead_letters[0]!.queue, 'users:q:ingest')
  t.equal(list.dead_letters[0]!.attempts_made, 2)
  t.match(list.dead_letters[0]!.failed_reason, /WRONGTYPE/)

  const all = await app.inject({ method: 'POST', url: '/admin/dead-letters/replay', headers: ADMIN, payload: {} })
  t.same(all.json(), { replayed: 1 })
  // That replay failed again (the key is still broken); repair, then replay this one by id.
  await waitFor(async () => (await app.inject({ url: '/admin/dead-letters', headers: ADMIN })).json().total === 1, 20_000)
  await app.redis.del(userKey('stuck@example.com'))
  const replay = await app.inject({
    method: 'POST',
    url: '/admin/dead-letters/replay',
    headers: ADMIN,
    payload: { queue: 'users:q:ingest', ids: [list.dead_letters[0]!.id] }
  })
  t.same(replay.json(), { replayed: 1 })
  await ingestIdle(app)
  t.equal((await app.users.get('stuck@example.com')).user_name, 'user1')
  t.equal((await app.inject({ url: '/admin/dead-letters', headers: ADMIN })).json().total, 0)
})

t.test('a payload that can never succeed goes to the dead letters after one attempt', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  await app.queues.queue('users', 'ingest').add('batch', { records: 'not a list' })
  await waitFor(async () => (await app.inject({ url: '/admin/dead-letters', headers: ADMIN })).json().total === 1, 20_000)
  const list = (await app.inject({ url: '/admin/dead-letters?queue=users:q:ingest', headers: ADMIN })).json()
  t.equal(list.dead_letters[0].attempts_made, 1)
  t.equal(list.dead_letters[0].failed_reason, 'payload has no records array')
  const anon = await app.inject({ url: '/admin/dead-letters' })
  t.equal(anon.statusCode, 401)
})

t.test('jobs applied out of order never let an older record overwrite a newer one', async (t) => {
  const app = await freshApp(t)
  const queue = app.queues.queue('users', 'ingest')
  const record = (first: string) => ({
    id: 1, user_name: 'late', email: 'late@example.com', first_name: first, last_name: 'L', ip_address: '', gender: '', country: '', agent: ''
  })
  // The older batch is added first (lower job id) but delayed, so the newer one is applied before it.
  const older = await queue.add('batch', { records: [record('older')] }, { delay: 600 })
  const newer = await queue.add('batch', { records: [record('older-in-the-same-batch'), record('newest')] })
  t.ok(Number(older.id) < Number(newer.id))
  await waitFor(async () => (await older.isCompleted()) && (await newer.isCompleted()), 20_000, 'both batches')
  t.same(await older.getState(), 'completed')
  const stored = (await app.inject({ url: '/users/late@example.com', headers: { authorization: `Bearer ${(await app.inject({ method: 'POST', url: '/auth', headers: ADMIN })).json().jwt}` } })).json()
  t.equal(stored.first_name, 'newest', 'the later record of the later batch won')
  const result = (await queue.getJob(String(older.id)))!.returnvalue as { unchanged: number, updated: number }
  t.same({ updated: result.updated, unchanged: result.unchanged }, { updated: 0, unchanged: 1 }, 'the late batch changed nothing')
})
