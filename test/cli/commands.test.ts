import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, tempDir, testRedis } from '../helpers/app.js'
import { cli } from '../helpers/cli.js'
import { ingestIdle, user } from '../helpers/users.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'

// The playfield command as a process against a real listening app: every client command honours --token,
// --user/--password and the PLAYFIELD_* address variables; unknown flags and bad input exit non-zero with one line;
// output holds only public fields. (test/cli/playfield.test.ts has the happy paths of each command.)

async function listening (t: Test, config: Record<string, string> = {}):
Promise<{ app: FastifyInstance, url: string }> {
  const app = await build(t, { config })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
}
type Test = import('tap').Test

const jwtOf = async (app: FastifyInstance, user: string, password: string) => {
  const res = await app.inject({
    method: 'POST', url: '/auth', headers: { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') }
  })
  return (res.json() as { jwt: string }).jwt
}

t.test('scores, leaderboard, accounts, tokens and dead-letters take a JWT in --token instead of a password', async (t) => {
  const { app, url } = await listening(t)
  const jwt = await jwtOf(app, 'admin', 'admin-password')
  const env = { PLAYFIELD_URL: url }
  const submitted = await cli(['scores', 'submit', 'tuta', '10', '--token', jwt], env)
  t.equal(submitted.code, 0, submitted.stderr)
  t.match(submitted.stdout, /tuta\s+10\s+1\s+1/)
  const shown = await cli(['leaderboard', 'show'], { ...env, PLAYFIELD_TOKEN: jwt })
  t.equal(shown.code, 0, shown.stderr)
  t.match(shown.stdout, /1\s+tuta\s+10/)
  const added = await cli(['accounts', 'add', 'studio2', '--new-password', 'studio-pass-2', '--token', jwt], env)
  t.equal(added.stdout, 'created studio2\n', added.stderr)
  const listed = await cli(['users', 'dead-letters', 'list', '--token', jwt], env)
  t.equal(listed.stdout, '0 dead letters\n', listed.stderr)

  // A wrong token is used, not ignored: the server refuses it (and no password is asked for instead).
  for (const args of [['scores', 'submit', 'x', '1'], ['leaderboard', 'show'], ['accounts', 'add', 'y', '--new-password', 'password-y']]) {
    const refused = await cli([...args, '--token', 'not-a-jwt'], env)
    t.equal(refused.code, 1, args.join(' '))
    t.match(refused.stderr, /^playfield: (POST|GET) \/\S+ → 401: invalid or expired token\n$/, args.join(' '))
  }
  const tokenOnly = await cli(['tokens', 'create', '--token', jwt], env)
  t.equal(tokenOnly.code, 1)
  t.equal(tokenOnly.stderr, 'playfield: tokens create needs --user and --password, not --token\n')
})

t.test('users import authenticates with --user/--password or a gRPC --token; without either it is told why', async (t) => {
  const { app, url } = await listening(t) // USERS_REQUIRE_AUTH is on by default
  const dir = await tempDir(t)
  const file = join(dir, 'users.json')
  await writeFile(file, JSON.stringify(Array.from({ length: 30 }, (_, i) => user(40_000 + i))))
  const env = { PLAYFIELD_URL: url, PLAYFIELD_GRPC_ADDRESS: `127.0.0.1:${app.grpc.port}` }

  const withPassword = await cli(['users', 'import', file, '--user', 'admin', '--password', 'admin-password'], env)
  t.equal(withPassword.code, 0, withPassword.stderr)
  t.match(withPassword.stdout, 'accepted 30, duplicates 0, rejected 0')
  const token = await app.auth.issueToken('admin')
  const withToken = await cli(['users', 'import', file, '--token', token], env)
  t.equal(withToken.code, 0, withToken.stderr)
  t.match(withToken.stdout, 'accepted 30, duplicates 0, rejected 0')
  await ingestIdle(app)
  t.equal((await app.users.stats()).stored, 30, 'the same 30 users, stored once')

  const anonymous = await cli(['users', 'import', file], env)
  t.equal(anonymous.code, 1)
  t.match(anonymous.stderr, /^playfield: .+users\.json: UNAUTHENTICATED: [^\n]+\n$/)
  const wrong = await cli(['users', 'import', file, '--user', 'admin', '--password', 'wrong-password'], env)
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /^playfield: POST \/tokens → 401: [^\n]+\n$/)
})

t.test('users export waits for the export with admin credentials or an admin --token', async (t) => {
  const { app, url } = await listening(t, { USERS_EXPORT_PATH: join(await tempDir(t), 'export.json') })
  const jwt = await jwtOf(app, 'admin', 'admin-password')
  const byToken = await cli(['users', 'export', '--token', jwt], { PLAYFIELD_URL: url })
  t.equal(byToken.code, 0, byToken.stderr)
  t.match(byToken.stdout, /^export job \S+ queued\nexported \d+ users \(\d+ bytes\) to .+export\.json\n$/)
  const byPassword = await cli(['users', 'export'], { PLAYFIELD_URL: url, PLAYFIELD_USER: 'admin', PLAYFIELD_PASSWORD: 'admin-password' })
  t.equal(byPassword.code, 0, byPassword.stderr)
  const anonymous = await cli(['users', 'export'], { PLAYFIELD_URL: url })
  t.equal(anonymous.code, 1)
  t.match(anonymous.stderr, /^playfield: credentials needed/)
})

t.test('a file with no user record in it fails the import, naming the file', async (t) => {
  const { app } = await listening(t, { USERS_REQUIRE_AUTH: 'false' })
  const dir = await tempDir(t)
  const garbage = join(dir, 'garbage.json')
  await writeFile(garbage, 'this is not json at all\n')
  const env = { PLAYFIELD_GRPC_ADDRESS: `127.0.0.1:${app.grpc.port}` }
  const r = await cli(['users', 'import', garbage], env)
  t.equal(r.code, 1)
  t.equal(r.stderr, `playfield: import failed: 1 of 1 files had no record accepted, first ${garbage} ` +
    '(no user record in it: expected a JSON array of user objects)\n')
  const empty = join(dir, 'empty.json')
  await writeFile(empty, '[]\n')
  const ok = await cli(['users', 'import', empty], env)
  t.equal(ok.code, 0, 'an empty list is no failure')
})

t.test('shapes takes its address from PLAYFIELD_GRPC_ADDRESS and prints only the contract\'s fields', async (t) => {
  const { app } = await listening(t)
  const env = { PLAYFIELD_GRPC_ADDRESS: `127.0.0.1:${app.grpc.port}` }
  const created = await cli(['shapes', 'create', 'Triangle'], env)
  t.equal(created.code, 0, created.stderr)
  const answer = JSON.parse(created.stdout)
  t.same(Object.keys(answer).sort(), ['correlation_id', 'message', 'shape', 'status_code'])
  t.same(Object.keys(answer.shape).sort(), ['coords', 'shape_id', 'shape_type'])
  t.notMatch(created.stdout, /"_/, 'no virtual oneof fields')
  const areas = await cli(['shapes', 'areas', 'T-0'], env)
  t.equal(areas.code, 0, areas.stderr)
  t.notMatch(areas.stdout, /"_/)
  t.equal(JSON.parse(areas.stdout).shape.shape_id, 'T-0')
})

t.test('unknown flags and bad values exit non-zero with one human line, before any request', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['ads', 'simulate', '--bogus'], /^error: unknown option '--bogus'\n$/],
    [['ads', 'simulate', '--requests', 'many'],
      /^error: option '--requests <n>' argument 'many' is invalid\. must be an integer from 1 to 1000000\n$/],
    [['ads', 'simulate', '--fill', '2'], /^error: option '--fill <ratio>' argument '2' is invalid\. must be a number from 0 to 1\n$/],
    [['ads', 'simulate', '--users', ','], /^playfield: --users needs at least one name\n$/],
    [['sessions', 'simulate', '--players', '-1'],
      /^error: option '--players <n>' argument '-1' is invalid\. must be an integer from 1 to 100000\n$/],
    [['sessions', 'simulate', '--bogus'], /^error: unknown option '--bogus'\n$/],
    [['leaderboard', 'show', '--window', 'weekly'],
      /^error: option '--window <window>' argument 'weekly' is invalid\. Allowed choices are all_time, last_30_days\./],
    [['leaderboard', 'show', '--page', '0'], /^error: option '--page <n>' argument '0' is invalid\. must be an integer from 1 to 1000000\n$/],
    [['users', 'import', 'x.json', '--timeout', 'soon'], /^playfield: --timeout must be an integer from 1 to 86400000\n$/],
    [['shapes', '--bogus', 'create', 'Triangle'], /^error: unknown option '--bogus'\n$/],
    [['admin', 'reset-password', '--bogus'], /^error: unknown option '--bogus'\n$/],
    [['nonsense'], /^error: too many arguments for 'serve'\. Expected 0 arguments but got 1\.\n$/]
  ]
  for (const [args, expected] of cases) {
    // Nothing listens at this URL: a command that got as far as a request would say "cannot reach".
    const r = await cli(args, { PLAYFIELD_URL: 'http://127.0.0.1:9', PLAYFIELD_GRPC_ADDRESS: '127.0.0.1:9' })
    t.not(r.code, 0, args.join(' '))
    t.match(r.stderr, expected, args.join(' '))
    t.equal(r.stdout, '', args.join(' '))
  }
})

t.test('admin reset-password sets a new admin password in the server\'s Redis, with no old credentials', async (t) => {
  const { app } = await listening(t)
  const env = { REDIS_URL: (await testRedis()).url, NODE_ENV: 'test' }
  // (this file's Redis is shared by its tests: earlier ones issued admin tokens too)
  await app.auth.issueToken('admin')
  const given = await cli(['admin', 'reset-password', '--new-password', 'brand-new-password'], env)
  t.equal(given.code, 0, given.stderr)
  t.match(given.stdout, /^reset the password of admin account admin \(revoked [1-9]\d* gRPC tokens?\)\n$/)
  t.same(await app.auth.revokeAllTokens('admin'), 0, 'the admin\'s tokens are revoked')
  t.match(await app.auth.verifyPassword('admin', 'brand-new-password'), { username: 'admin', admin: true })
  t.equal(await app.auth.verifyPassword('admin', 'admin-password'), null, 'the old password no longer works')

  const generated = await cli(['admin', 'reset-password', '--username', 'root'], env)
  t.equal(generated.code, 0, generated.stderr)
  const password = /^created admin account root\nnew password \(shown once\): (\S+)\n$/.exec(generated.stdout)?.[1]
  t.ok(password, generated.stdout)
  t.match(await app.auth.verifyPassword('root', password!), { username: 'root', admin: true })

  const short = await cli(['admin', 'reset-password', '--new-password', 'short'], env)
  t.equal(short.code, 1)
  t.equal(short.stderr, 'playfield: password must be 8-256 characters\n')
  const unreachable = await cli(['admin', 'reset-password'], { ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` })
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^playfield: cannot reach Redis \(REDIS_URL\): [^\n]+\n$/)
})
