import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { credentials, Metadata } from '@grpc/grpc-js'
import { privateRedis } from '../helpers/app.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'
import { ShapeService } from '../../src/grpc/contract.js'

// SIGTERM under load against the real server process: every HTTP request and gRPC call (streams included) that
// was in flight when the signal arrived completes successfully, and the process exits 0 within SHUTDOWN_TIMEOUT_MS.

const root = fileURLToPath(new URL('../..', import.meta.url))

function tree (n: number, tag: string) {
  return { name: `${tag}-root`, children: Array.from({ length: n - 1 }, (_, i) => ({ name: `${tag}-${i}` })) }
}

t.test('SIGTERM under load: in-flight HTTP requests and gRPC streams finish, exit 0 in time', async (t) => {
  const redis = await privateRedis(t)
  const httpPort = await freePort()
  const grpcPort = await freePort()
  const shutdownTimeoutMs = 8000
  const child = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: redis.url,
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'admin-password',
      SHAPES_SIGNATURE: 'sigterm-test'
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise<{ code: number | null, at: number }>(resolve =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const base = `http://127.0.0.1:${httpPort}`
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    if (await fetch(`${base}/health/ready`).then(r => r.ok, () => false)) break
    await sleep(50)
  }

  // gRPC: shapes to measure, then 10 bidi streams that keep sending ids across the signal.
  const client = new ShapeService(`127.0.0.1:${grpcPort}`, credentials.createInsecure()) as any
  t.teardown(() => client.close())
  const md = new Metadata()
  md.set('x-signature', 'sigterm-test')
  const created: string = await new Promise((resolve, reject) => client.CreateShape({ shape_type: 'Rectangle' }, md,
    { deadline: new Date(Date.now() + 5000) },
    (err: Error | null, res: any) => err ? reject(err) : resolve(res.shape.shape_id)))
  const streams = Array.from({ length: 10 }, () => {
    const call = client.GetAreas(md, { deadline: new Date(Date.now() + 20_000) })
    let answers = 0
    call.on('data', (m: { status_code: string }) => { if (m.status_code === 'OK') answers++ })
    const done = new Promise<{ code: number, answers: number }>((resolve) => call.on('status', (s: { code: number }) => resolve({ code: s.code, answers })))
    return { call, done }
  })
  const sendIds = async (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const s of streams) s.call.write({ shape_id: created })
      await sleep(10)
    }
  }
  await sendIds(20)

  // HTTP: large tree creations (hundreds of ms each) that are in flight when the signal arrives (writes need an
  // account's JWT).
  const admin = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`
  const { jwt } = await (await fetch(`${base}/auth`, { method: 'POST', headers: { authorization: admin } })).json() as { jwt: string }
  const posts = Array.from({ length: 4 }, (_, i) => fetch(`${base}/categories/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify(tree(5000, `sig${i}`))
  }).then(async r => r.status, (err: Error) => `error: ${err.message}`))
  await sleep(30)

  const signalledAt = Date.now()
  child.kill('SIGTERM')
  await sendIds(30) // streams keep talking after the signal
  for (const s of streams) s.call.end()

  const results = await Promise.all(streams.map(s => s.done))
  t.same(results.map(r => r.code), Array(10).fill(0), 'every stream ends with OK')
  t.same(results.map(r => r.answers), Array(10).fill(50), 'every id sent on an open stream got its answer')
  t.same(await Promise.all(posts), [201, 201, 201, 201], 'in-flight HTTP requests completed')
  const { code, at } = await exited
  t.equal(code, 0, 'clean exit')
  t.ok(at - signalledAt <= shutdownTimeoutMs, `exited ${at - signalledAt} ms after SIGTERM (≤ ${shutdownTimeoutMs})`)
})
