import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build } from '../helper.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'

// The playfield command end to end: the real CLI process against a real listening app.

const root = fileURLToPath(new URL('../..', import.meta.url))

type Run = { code: number, stdout: string, stderr: string }
function cli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import=tsx', 'src/cli/index.ts', ...args], {
      cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }))
  })
}

t.test('every subcommand has --help', async (t) => {
  for (const args of [['--help'], ['serve', '--help'], ['worker', '--help'], ['accounts', 'add', '--help'], ['tokens', 'create', '--help'],
    ['tokens', 'revoke', '--help'], ['scores', 'submit', '--help'], ['leaderboard', 'show', '--help'], ['users', 'import', '--help'],
    ['users', 'export', '--help'], ['sessions', 'simulate', '--help'], ['ads', 'simulate', '--help'], ['shapes', '--help']]) {
    const r = await cli(args)
    t.equal(r.code, 0, args.join(' '))
    t.match(r.stdout, /Usage: playfield/, args.join(' '))
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
