import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Metadata, type ClientWritableStream } from '@grpc/grpc-js'
import type { IngestReply } from '../../src/plugins/users/service.js'
import { allKeys, deadline, tempDir, testRedisEnv } from '../helpers/app.js'
import { freshApp, ingestIdle, user, usersClient, waitFor } from '../helpers/users.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

t.test('a standalone worker SIGKILLed three times mid-ingest loses nothing and stores no user twice', async (t) => {
  const dir = await tempDir(t)
  const redisEnv = await testRedisEnv()
  // The server only queues; the child processes are the only workers.
  const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', WORKERS_ENABLED: 'false', USERS_BATCH_SIZE: '100' } })
  const children = new Set<ChildProcess>()
  t.teardown(() => { for (const c of children) c.kill('SIGKILL') })
  let stderr = ''
  const startWorker = () => {
    const child = spawn(process.execPath, ['--import=tsx', join(ROOT, 'src/worker.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        ...redisEnv,
        WORKER_CONCURRENCY: '4',
        // A killed worker's jobs come back after about a second instead of 30.
        USERS_LOCK_DURATION_MS: '1000',
        USERS_EXPORT_PATH: join(dir, 'all_users.json'),
        USERS_EXPORT_DEBOUNCE_MS: '600000',
        JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789',
        ADMIN_USER: 'admin',
        ADMIN_PASSWORD: 'admin-password'
      }
    })
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
    children.add(child)
    child.on('exit', () => children.delete(child))
    const ready = new Promise<void>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString()
        if (out.includes('"msg":"worker ready"')) resolve()
      })
      child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`)))
    })
    ready.catch(() => {})
    return { child, ready }
  }

  const total = 10_000
  let call!: ClientWritableStream<object>
  const reply = new Promise<IngestReply>((resolve, reject) => {
    call = usersClient(t, app).SendUserInfoClientStream(new Metadata(), { deadline: deadline(60_000) },
      (err, res) => err ? reject(err) : resolve(res))
  })
  let sent = 0
  const sendUpTo = async (n: number) => {
    while (sent < n) {
      if (!call.write(user(sent++))) await once(call, 'drain')
    }
  }
  const stored = async () => (await app.users.stats()).stored

  // Loading the app takes seconds, so the next worker boots while the current one works. It is started only once
  // the current one is ready, and is still loading when the current one is killed: progress seen in between
  // comes from the current worker alone.
  let current = startWorker()
  for (let kill = 1; kill <= 3; kill++) {
    await current.ready
    const next = startWorker()
    const before = await stored()
    await sendUpTo(kill * 2500)
    // Kill as soon as this worker is seen storing: it is then in the middle of the queued batches.
    await waitFor(async () => await stored() > before, 30_000, `worker ${kill} to store users (stderr: ${stderr})`)
    current.child.kill('SIGKILL')
    await once(current.child, 'exit')
    current = next
  }
  t.ok(await stored() < total, 'the kills happened before everything was stored')
  await sendUpTo(total)
  call.end()
  const r = await reply
  t.same({ received: r.received, accepted: r.accepted, jobs: r.jobs }, { received: total, accepted: total, jobs: 100 })

  await waitFor(async () => await stored() === total, 45_000, 'all users stored')
  await ingestIdle(app, 30_000)
  const stats = await app.users.stats()
  t.same(stats, {
    stored: total,
    inserted: total,
    updated: 0,
    unchanged: stats.unchanged, // batches a killed worker had stored but not acknowledged ran again
    queue: { waiting: 0, active: 0, failed: 0 }
  })
  const keys = (await allKeys(app.redis, 'users:{sh:*}:u:*')).length
  t.equal(keys, total, 'one record per email')
})
