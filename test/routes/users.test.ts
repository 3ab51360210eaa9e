import t from 'tap'
import { freshApp, ingestIdle, sendStream, user, usersClient } from '../helpers/users.js'

const ADMIN = { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}` }

/** Stored users are personal data: reading them takes an admin's JWT. */
async function jwtHeaders (app: Awaited<ReturnType<typeof freshApp>>, admin = true) {
  const { jwt } = await app.auth.signJwt({ username: 'reader', admin })
  return { authorization: `Bearer ${jwt}` }
}

t.test('GET /users/:email finds a stored user case-insensitively and 404s an unknown one', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  await sendStream(usersClient(t, app), [user(1, { first_name: 'Oğuz' })])
  await ingestIdle(app)
  const headers = await jwtHeaders(app)
  const found = await app.inject({ url: '/users/USER1@EXAMPLE.COM', headers })
  t.equal(found.statusCode, 200)
  t.same(found.json(), user(1, { first_name: 'Oğuz' }))
  const missing = await app.inject({ url: '/users/nobody@example.com', headers })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'PLAYFIELD_NOT_FOUND')
  t.equal((await app.inject({ url: '/users/user1@example.com' })).statusCode, 401)
})

t.test('GET /users pages through every user in email order with a cursor', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  await sendStream(usersClient(t, app), Array.from({ length: 25 }, (_, i) => user(100 + i)))
  await ingestIdle(app)
  const headers = await jwtHeaders(app)
  const seen: string[] = []
  let cursor: string | null = ''
  let pages = 0
  while (cursor !== null) {
    const res = await app.inject({ url: `/users?limit=10&cursor=${encodeURIComponent(cursor)}`, headers })
    t.equal(res.statusCode, 200)
    const body = res.json() as { users: Array<{ email: string }>, next_cursor: string | null }
    seen.push(...body.users.map(u => u.email))
    cursor = body.next_cursor
    pages++
  }
  t.equal(pages, 3)
  t.same(seen, Array.from({ length: 25 }, (_, i) => `user${100 + i}@example.com`).sort())
  t.equal((await app.inject({ url: '/users?limit=0', headers })).statusCode, 400)
})

t.test('POST /users/export needs an admin and GET /users/export/:id reports the finished export', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  t.equal((await app.inject({ method: 'POST', url: '/users/export' })).statusCode, 401)
  t.equal((await app.inject({ method: 'POST', url: '/users/export', headers: await jwtHeaders(app, false) })).statusCode, 403)
  const started = await app.inject({ method: 'POST', url: '/users/export', headers: ADMIN })
  t.equal(started.statusCode, 202)
  const id = started.json().job_id as string
  let status: any
  for (let i = 0; i < 200; i++) {
    status = (await app.inject({ url: `/users/export/${id}`, headers: ADMIN })).json()
    if (status.state === 'completed') break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal(status.state, 'completed')
  t.equal(status.result.count, 0)
  t.equal((await app.inject({ url: '/users/export/no-such-job', headers: ADMIN })).statusCode, 404)
})

t.test('the bull-board dashboard needs admin credentials and lists the users queues', async (t) => {
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const anon = await app.inject({ url: '/admin/queues' })
  t.equal(anon.statusCode, 401)
  t.match(anon.headers['www-authenticate'], /^Basic/)
  const page = await app.inject({ url: '/admin/queues', headers: ADMIN })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const api = await app.inject({ url: '/admin/queues/api/queues', headers: ADMIN })
  t.equal(api.statusCode, 200)
  const names = (api.json().queues as Array<{ name: string }>).map(q => q.name)
  t.ok(names.includes('users:q:ingest'), 'ingest queue listed')
  t.ok(names.includes('users:q:export'), 'export queue listed')
})
