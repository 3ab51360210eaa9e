import t from 'tap'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/app.js'
import { freshApp, ingestIdle, sendStream, user, usersClient, waitFor } from '../helpers/users.js'

// Issue #17, personal data for admins only: ingested users (names, emails, IP addresses) are read by admins only,
// job payloads lose them once processed, and the export file is readable by the service's user only.

const ADMIN = { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}` }

async function jwt (app: Awaited<ReturnType<typeof freshApp>>, admin: boolean) {
  return { authorization: `Bearer ${(await app.auth.signJwt({ username: admin ? 'boss' : 'player', admin })).jwt}` }
}

t.test('a non-admin account cannot list or read stored users: 403, an admin can', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  await sendStream(usersClient(t, app), [user(1), user(2)])
  await ingestIdle(app)
  const player = await jwt(app, false)
  for (const url of ['/users', '/users?limit=10', '/users/user1@example.com']) {
    const res = await app.inject({ url, headers: player })
    t.equal(res.statusCode, 403, url)
    t.same(res.json(), { message: 'admin only', code: 'PLAYFIELD_FORBIDDEN' }, url)
    t.notMatch(res.body, /example\.com/, 'no personal data in the refusal')
    t.equal((await app.inject({ url })).statusCode, 401, `${url} anonymous`)
  }
  const admin = await jwt(app, true)
  const list = await app.inject({ url: '/users', headers: admin })
  t.equal(list.statusCode, 200)
  t.equal(list.json().users.length, 2)
  t.equal((await app.inject({ url: '/users/user2@example.com', headers: ADMIN })).json().email, 'user2@example.com')
  // The counters hold no personal data: any account reads them.
  t.equal((await app.inject({ url: '/users/stats', headers: player })).statusCode, 200)
})

t.test('an ingest job keeps no personal data once its batch is stored', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const queue = app.queues.queue('users', 'ingest')
  const job = await queue.add('batch', { records: [{ ...user(7), id: 7 }] })
  await waitFor(async () => await job.isCompleted(), 20_000, 'the batch')
  const kept = await queue.getJob(String(job.id))
  t.ok(kept, 'the completed job is kept with its counts')
  t.same(kept!.data, { records: [] }, 'its records are gone')
  t.notMatch(JSON.stringify(kept), /user7|example\.com/, 'nowhere in the stored job')
  t.equal((kept!.returnvalue as { inserted: number }).inserted, 1)
  t.equal((await app.users.get('user7@example.com')).user_name, 'user7', 'the record itself was stored')
})

t.test('the export file is written 0600, whatever the umask', async (t) => {
  const dir = await tempDir(t)
  await mkdir(join(dir, 'out'))
  const path = join(dir, 'out', 'all_users.json')
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_EXPORT_PATH: path } })
  await sendStream(usersClient(t, app), [user(3)])
  await ingestIdle(app)
  const old = process.umask(0o000)
  t.teardown(() => { process.umask(old) })
  const id = (await app.inject({ method: 'POST', url: '/users/export', headers: ADMIN })).json().job_id as string
  await waitFor(async () => (await app.inject({ url: `/users/export/${id}`, headers: ADMIN })).json().state === 'completed',
    20_000, 'the export')
  t.equal((await stat(path)).mode & 0o777, 0o600)
})

t.test('job ids that name the queue\'s own keys (events, id, meta…) answer 404, not 500', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  // Make the queue's keys exist (an export job, its events stream and id counter).
  const id = (await app.inject({ method: 'POST', url: '/users/export', headers: ADMIN })).json().job_id as string
  await waitFor(async () => (await app.inject({ url: `/users/export/${id}`, headers: ADMIN })).json().state === 'completed',
    20_000, 'the export')
  for (const name of ['events', 'id', 'meta', 'wait', 'completed', 'stalled-check', '0', '01']) {
    const res = await app.inject({ url: `/users/export/${name}`, headers: ADMIN })
    t.equal(res.statusCode, 404, name)
    t.same(res.json(), { message: `no export job ${name}`, code: 'PLAYFIELD_NOT_FOUND' }, name)
  }
  const replay = await app.inject({
    method: 'POST', url: '/admin/dead-letters/replay', headers: ADMIN, payload: { queue: 'users:q:export', ids: ['events', 'id'] }
  })
  t.equal(replay.statusCode, 200)
  t.same(replay.json(), { replayed: 0 })
})
