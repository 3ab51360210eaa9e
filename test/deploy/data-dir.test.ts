import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { tempDir } from '../helpers/app.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'
import { LOCK_FILE } from '../../src/plugins/infra/data-lock.js'

// The embedded default's data directory, with real server processes: a second server on the same directory refuses
// to start and names the first one's pid; the lock goes when the first stops; a lock left by a killed process is
// taken over; and each start says truthfully what it found about the admin account.

const root = fileURLToPath(new URL('../..', import.meta.url))
type Test = import('tap').Test

interface Server { child: ChildProcess, exited: Promise<number | null>, output: () => string, http: number }

async function server (t: Test, dir: string, env: Record<string, string> = {}): Promise<Server> {
  const http = await freePort()
  const child = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_DATA_DIR: join(dir, 'redis'),
      HTTP_PORT: String(http),
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      JWT_SECRET: 'data-dir-test-jwt-secret-0123456789abcdef',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (d) => { output += d })
  child.stderr!.on('data', (d) => { output += d })
  const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, exited, output: () => output, http }
}

async function ready (s: Server): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (s.child.exitCode !== null) return false
    if (await fetch(`http://127.0.0.1:${s.http}/health/ready`).then(r => r.ok, () => false)) return true
    await sleep(100)
  }
  return false
}

/** The admin message lines of a server's (JSON) log. */
const adminLines = (out: string) => out.split('\n').filter(l => /admin account/.test(l)).map(l => JSON.parse(l).msg as string)

t.test('a second server on the same data directory refuses to start and names the pid holding it', async (t) => {
  const dir = await tempDir(t, 'playfield-datadir-')
  const first = await server(t, dir)
  t.ok(await ready(first), `the first server is ready: ${first.output()}`)
  const lock = join(dir, 'redis', LOCK_FILE)
  t.match(await readFile(lock, 'utf8'), new RegExp(`^${first.child.pid} `), 'the lock names the first server')

  const second = await server(t, dir)
  t.equal(await second.exited, 1, 'the second exits non-zero')
  t.match(second.output(), `playfield: failed to start: data directory ${join(dir, 'redis')} is in use by process ` +
    `${first.child.pid} (lock file ${lock})`)
  t.ok(await fetch(`http://127.0.0.1:${first.http}/health/ready`).then(r => r.ok), 'the first server is unharmed')

  // The reset-password command opens the same directory: refused the same way while the server runs.
  const reset = await new Promise<{ code: number, err: string }>((resolve) => execFile(process.execPath,
    ['--import=tsx', 'src/cli/index.ts', 'admin', 'reset-password'],
    { cwd: root, env: { PATH: process.env.PATH ?? '', REDIS_DATA_DIR: join(dir, 'redis') }, timeout: 60_000 },
    (e, _out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, err })))
  t.equal(reset.code, 1)
  t.match(reset.err, new RegExp(`^playfield: data directory .+ is in use by process ${first.child.pid} `))

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'the first stops cleanly')
  t.equal(await access(lock).then(() => true, () => false), false, 'and its lock is gone')
})

t.test('a lock left by a process that is gone is taken over; later starts say the admin account exists', async (t) => {
  const dir = await tempDir(t, 'playfield-datadir-')
  const first = await server(t, dir)
  t.ok(await ready(first), first.output())
  const generated = adminLines(first.output())
  t.equal(generated.length, 1)
  const password = /^generated the admin account; its password \(shown once\) is: (\S+)$/.exec(generated[0] ?? '')?.[1]
  t.ok(password, 'a fresh data directory gets a generated admin password, shown once')
  // SIGKILL: no chance to remove the lock (the embedded redis-server stops through its watchdog).
  first.child.kill('SIGKILL')
  await first.exited
  const lock = join(dir, 'redis', LOCK_FILE)
  t.match(await readFile(lock, 'utf8'), new RegExp(`^${first.child.pid} `), 'the stale lock is still there')
  await sleep(500) // the old redis-server finishes stopping

  const second = await server(t, dir)
  t.ok(await ready(second), `the second takes the stale lock over: ${second.output()}`)
  t.match(await readFile(lock, 'utf8'), new RegExp(`^${second.child.pid} `))
  t.same(adminLines(second.output()),
    ['admin account exists (its password was set earlier; lost it? `playfield admin reset-password`)'])
  t.notMatch(second.output(), /no admin account/)
  const login = await fetch(`http://127.0.0.1:${second.http}/auth`, {
    method: 'POST', headers: { authorization: 'Basic ' + Buffer.from(`admin:${password}`).toString('base64') }
  })
  t.equal(login.status, 200, 'the generated password still logs in (same data)')
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)

  // A lock whose pid is alive but is another process (a pid reused after a restart): its start time differs.
  await writeFile(lock, `${process.pid} 1\n`)
  const third = await server(t, dir, { ADMIN_USER: 'admin', ADMIN_PASSWORD: 'explicit-password' })
  t.ok(await ready(third), `a reused pid does not hold the lock: ${third.output()}`)
  t.same(adminLines(third.output()), ['admin account set from ADMIN_USER/ADMIN_PASSWORD'])
  third.child.kill('SIGTERM')
  t.equal(await third.exited, 0)
})
