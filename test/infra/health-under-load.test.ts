import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build } from '../helpers/app.js'

// Real overload of a real listening server: the event loop is blocked in long synchronous slices (as a CPU-bound
// burst would), with a tiny shedding threshold from the config. Liveness must still answer 200, readiness 503 with a
// schema-valid reason and Retry-After (never 500), and other routes are shed with the one error shape.

function blockLoop (sliceMs: number, everyMs: number): () => void {
  const timer = setInterval(() => {
    const end = Date.now() + sliceMs
    while (Date.now() < end) { /* busy: the event loop lags */ }
  }, everyMs)
  return () => clearInterval(timer)
}

async function get (base: string, path: string) {
  const res = await fetch(base + path)
  const text = await res.text()
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined }
}

t.test('under overload /health/live answers 200, /health/ready 503 with a reason and Retry-After, never 500', async (t) => {
  const app = await build(t, {
    config: { MAX_EVENT_LOOP_DELAY_MS: '100', PRESSURE_SAMPLE_INTERVAL_MS: '50', PRESSURE_RETRY_AFTER_S: '7' }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const base = `http://127.0.0.1:${address.port}`

  // Booting lags the loop too (and the machine may be busy): start from a calm state.
  let calm = await get(base, '/health/ready')
  const calmBy = Date.now() + 15_000
  while (calm.status !== 200 && Date.now() < calmBy) {
    await sleep(100)
    calm = await get(base, '/health/ready')
  }
  t.equal(calm.status, 200, 'ready before the overload')
  t.same(calm.body, { status: 'ok', shuttingDown: false, checks: { redis: 'up' } })

  const unblock = blockLoop(300, 10)
  let stopped = false
  const stop = () => { if (!stopped) { stopped = true; unblock() } }
  t.teardown(stop)

  const readyStatuses: number[] = []
  let ready = await get(base, '/health/ready')
  readyStatuses.push(ready.status)
  const until = Date.now() + 15_000
  while (ready.status !== 503 && Date.now() < until) {
    ready = await get(base, '/health/ready')
    readyStatuses.push(ready.status)
  }
  t.equal(ready.status, 503, 'readiness turns 503 under overload')
  t.equal(ready.retryAfter, '7', 'with Retry-After from PRESSURE_RETRY_AFTER_S')
  t.equal(ready.body.status, 'unavailable')
  t.equal(ready.body.shuttingDown, false)
  t.same(ready.body.checks, { redis: 'up' }, 'the dependencies are fine: only the process is saturated')
  t.match(ready.body.reason, /^under pressure: eventLoopDelay/, 'names the reason')

  // Still under the same overload: liveness is never shed, an ordinary route is shed with the one error shape.
  for (let i = 0; i < 5; i++) {
    const live = await get(base, '/health/live')
    t.equal(live.status, 200, `liveness answers 200 under overload (${i + 1})`)
    t.same(live.body, { status: 'ok' })
  }
  const shed = await get(base, '/leaderboard?board=weekly')
  t.equal(shed.status, 503, 'an ordinary route is shed')
  t.equal(shed.retryAfter, '7')
  t.same(shed.body, { message: 'server under pressure, retry shortly', code: 'FST_UNDER_PRESSURE' })
  for (let i = 0; i < 5; i++) {
    const again = await get(base, '/health/ready')
    readyStatuses.push(again.status)
    t.equal(again.status, 503, 'readiness stays 503 while overloaded')
  }

  stop()
  const calmUntil = Date.now() + 15_000
  let after = await get(base, '/health/ready')
  readyStatuses.push(after.status)
  while (after.status !== 200 && Date.now() < calmUntil) {
    await sleep(50)
    after = await get(base, '/health/ready')
    readyStatuses.push(after.status)
  }
  t.equal(after.status, 200, 'ready again once the overload ends')
  t.notOk(readyStatuses.includes(500), `readiness never answered 500 (saw ${[...new Set(readyStatuses)].join(', ')})`)
})

t.test('with every threshold at 0 nothing is shed, however busy the loop', async (t) => {
  const app = await build(t, { config: { MAX_EVENT_LOOP_DELAY_MS: '0', PRESSURE_SAMPLE_INTERVAL_MS: '50' } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const base = `http://127.0.0.1:${address.port}`
  const unblock = blockLoop(80, 10)
  t.teardown(unblock)
  await sleep(300)
  t.equal((await get(base, '/health/ready')).status, 200)
  t.equal((await get(base, '/health/live')).status, 200)
})
