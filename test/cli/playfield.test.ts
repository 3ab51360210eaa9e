import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { build, tempDir } from '../helpers/app.js'
import { cli } from '../helpers/cli.js'
import { ingestIdle, user, waitFor } from '../helpers/users.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'

// The playfield command end to end: the real CLI process against a real listening app.

t.test('every subcommand has --help', async (t) => {
  for (const args of [['--help'], ['serve', '--help'], ['worker', '--help'], ['accounts', 'add', '--help'], ['tokens', 'create', '--help'],
    ['tokens', 'revoke', '--help'], ['scores', 'submit', '--help'], ['leaderboard', 'show', '--help'], ['users', 'import', '--help'],
    ['users', 'export', '--help'], ['users', 'dead-letters', 'list', '--help'], ['users', 'dead-letters', 'replay', '--help'],
    ['sessions', 'simulate', '--help'], ['ads', 'simulate', '--help'], ['shapes', '--help'], ['admin', 'reset-password', '--help'],
    ['migrate-keys', '--help']]) {
    const r = await cli(args)
    t.equal(r.code, 0, args.join(' '))
    t.match(r.stdout, /Usage: playfield/, args.join(' '))
  }
})

t.test('usage errors exit non-zero with one line saying what is wrong', async (t) => {
  for (const [args, reason] of [
    [['scores', 'submit'], "error: missing required argument 'name'"],
    [['leaderboard', 'show', '--bogus'], "error: unknown option '--bogus'"],
    [['accounts', 'add', 'x'], "error: required option '--new-password <password>' not specified"]
  ] as Array<[string[], string]>) {
    const r = await cli(args)
    t.not(r.code, 0, args.join(' '))
    t.equal(r.stderr, `${reason}\n`, args.join(' '))
  }
})

t.test('accounts, tokens, scores and the leaderboard table work against a running server', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const env = {
    PLAYFIELD_URL: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    PLAYFIELD_USER: 'admin',
    PLAYFIELD_PASSWORD: 'admin-password'
  }
  const added = await cli(['accounts', 'add', 'studio1', '--new-password', 'studio-pass-1'], env)
  t.equal(added.stdout, 'created studio1\n')
  const token = await cli(['tokens', 'create', '--user', 'studio1', '--password', 'studio-pass-1'], env)
  t.match(token.stdout, /^[0-9a-f]{14}\n$/)
  t.equal(await app.auth.verifyToken(token.stdout.trim()), 'studio1')
  const revoked = await cli(['tokens', 'revoke', token.stdout.trim()], env)
  t.equal(revoked.stdout, 'revoked 1\n')

  const submitted = await cli(['scores', 'submit', 'tuta', '10', 'sava', '20', 'kiki', '30'], env)
  t.equal(submitted.code, 0, submitted.stderr)
  t.match(submitted.stdout, /kiki\s+30\s+1\s+1/)
  const shown = await cli(['leaderboard', 'show'], env)
  t.equal(shown.code, 0, shown.stderr)
  t.match(shown.stdout, /all_time — page 1, 3 players/)
  t.match(shown.stdout, /1\s+kiki\s+30\n2\s+sava\s+20\n3\s+tuta\s+10/)
})

t.test('sessions simulate and ads simulate upload traffic and report it', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const env = { PLAYFIELD_URL: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
  const sessions = await cli(['sessions', 'simulate', '--countries', '2', '--players', '2', '--sessions', '3', '--seed', '7'], env)
  t.equal(sessions.code, 0, sessions.stderr)
  t.match(sessions.stdout, /12 sessions, 3 batches: 24 accepted, 0 duplicates, 0 rejected/)
  const ads = await cli(['ads', 'simulate', '--users', 'Jack', '--sdk', '1.0', '--requests', '40', '--fill', '1'], env)
  t.equal(ads.code, 0, ads.stderr)
  t.match(ads.stdout, /username\s+Jack\s+40\s+40\s+1\.000/)
  t.match(ads.stdout, /sdk\s+1\.0\s+40\s+40\s+1\.000/)
})

t.test('a failure exits non-zero with one line saying why', async (t) => {
  const port = await freePort() // nothing listens there
  const r = await cli(['leaderboard', 'show', '--url', `http://127.0.0.1:${port}`, '--user', 'a', '--password', 'b'])
  t.equal(r.code, 1)
  t.equal(r.stderr, `playfield: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`)
  const missing = await cli(['tokens', 'create', '--url', `http://127.0.0.1:${port}`])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^playfield: credentials needed/)
})

t.test('users dead-letters list shows a dead letter and replay --all or by id moves it back', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const env = { PLAYFIELD_URL: url, PLAYFIELD_USER: 'admin', PLAYFIELD_PASSWORD: 'admin-password' }
  const ingest = app.queues.queue('users', 'ingest')
  // A payload that can never succeed: one attempt, straight to the dead letters.
  const job = await ingest.add('batch', { records: 'not a list' })
  await waitFor(async () => await ingest.getFailedCount() === 1, 20_000, 'the dead letter')

  const listed = await cli(['users', 'dead-letters', 'list', '--queue', 'users:q:ingest'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /^queue\s+id\s+name\s+attempts\s+failed at\s+reason\n/)
  t.match(listed.stdout, new RegExp(`users:q:ingest\\s+${job.id}\\s+batch\\s+1\\s+\\S+Z\\s+payload has no records array\n`))
  t.match(listed.stdout, /\n1 dead letter\n$/)

  const byId = await cli(['users', 'dead-letters', 'replay', String(job.id), '--queue', 'users:q:ingest'], env)
  t.equal(byId.code, 0, byId.stderr)
  t.equal(byId.stdout, 'replayed 1\n')
  // It fails again at once (the payload is still wrong); --all brings it back once more.
  await waitFor(async () => await ingest.getFailedCount() === 1, 20_000, 'the dead letter again')
  const all = await cli(['users', 'dead-letters', 'replay', '--all'], env)
  t.equal(all.stdout, 'replayed 1\n')
  await waitFor(async () => await ingest.getFailedCount() === 1, 20_000, 'the dead letter once more')
  t.equal((await ingest.getJob(String(job.id)))?.attemptsMade, 1, 'fresh attempts on each replay')

  const unknown = await cli(['users', 'dead-letters', 'replay', 'no-such-job', '--queue', 'users:q:ingest'], env)
  t.equal(unknown.code, 1)
  t.equal(unknown.stderr, 'playfield: 1 of 1 ids were not dead letters\n')
  const nothing = await cli(['users', 'dead-letters', 'replay'], env)
  t.equal(nothing.code, 1)
  t.equal(nothing.stderr, 'playfield: give job ids to replay, or --all\n')
  const wrong = await cli(['users', 'dead-letters', 'list', '--password', 'wrong'], env)
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /^playfield: GET \/admin\/dead-letters\?limit=100 → 401: .+\n$/)
  const anon = await cli(['users', 'dead-letters', 'list', '--url', url])
  t.equal(anon.code, 1)
  t.match(anon.stderr, /^playfield: credentials needed/)
})

t.test('users import off a TTY prints progress lines, and a failed import says why on stderr', async (t) => {
  const app = await build(t, { config: { USERS_REQUIRE_AUTH: 'false' } })
  const dir = await tempDir(t)
  const file = join(dir, 'users.json')
  await writeFile(file, JSON.stringify(Array.from({ length: 1000 }, (_, i) => user(20_000 + i))))
  const env = { PLAYFIELD_GRPC_ADDRESS: `127.0.0.1:${app.grpc.port}` }

  const run = await cli(['users', 'import', file, '--progress-every', '300'], env)
  t.equal(run.code, 0, run.stderr)
  // Lines at every 300 users sent (100 per message), when the file is all sent, and (a slow run) once a second.
  const sentCounts = (out: string) => [...out.matchAll(/^.+users\.json: sent (\d+)\/1000$/gm)].map(m => Number(m[1]))
  t.match(run.stdout, `${file}: sent 1000/1000\n${file}: read 1000, salvaged 0, sent 1000, accepted 1000, ` +
    'duplicates 0, rejected 0\n')
  t.same(sentCounts(run.stdout).filter(n => n % 300 === 0 || n === 1000), [300, 600, 900, 1000])
  const compat = await cli(['users', 'import', file, '--compat', '--progress-every', '500'], env)
  t.equal(compat.code, 0, compat.stderr)
  t.same(sentCounts(compat.stdout).filter(n => n % 500 === 0), [500, 1000])
  t.match(compat.stdout, 'accepted 1000, duplicates 0, rejected 0')
  await ingestIdle(app)
  t.equal((await app.users.stats()).stored, 1000)

  const bad = join(dir, 'bad.json')
  await writeFile(bad, JSON.stringify([user(1, { email: 'nope' }), user(2, { user_name: '' })]))
  const rejected = await cli(['users', 'import', bad], env)
  t.equal(rejected.code, 1)
  t.equal(rejected.stderr, `playfield: import failed: 1 of 1 files had no record accepted, first ${bad} ` +
    '(record 0: email "nope" is not a valid address)\n')

  const port = await freePort() // nothing listens there
  const down = await cli(['users', 'import', file, '--address', `127.0.0.1:${port}`, '--timeout', '3000'])
  t.equal(down.code, 1)
  t.match(down.stderr, new RegExp(`^playfield: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (UNAVAILABLE|DEADLINE_EXCEEDED): [^\n]+\n$`))
  const missing = await cli(['users', 'import', join(dir, 'nope.json')], env)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^playfield: ENOENT: no such file or directory, stat '.+nope\.json'\n$/)
})
