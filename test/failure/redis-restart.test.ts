import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build, privateRedis } from '../helpers/app.js'

// Redis restart under load, with the test's own redis-server (AOF on): the app reports not-ready during the
// outage, recovers within 5 s after Redis is back, every acknowledged write is still there and queued jobs survive.

t.test('a Redis restart under load loses no acknowledged write and no queued job', async (t) => {
  const redis = await privateRedis(t, { aof: true })
  const app = await build(t, { config: { REDIS_URL: redis.url, WORKERS_ENABLED: 'false' } })
  const queue = app.queues.queue('test', 'survivors')

  const tokens: string[] = []
  const jobIds: string[] = []
  let failures = 0
  const state = { running: true }
  const writer = (async () => {
    let i = 0
    while (state.running) {
      const n = i++
      // Only writes whose promise resolved count as acknowledged.
      await Promise.all([
        app.auth.issueToken(`player-${n}`).then(tok => { tokens.push(tok) }, () => { failures++ }),
        queue.add('job', { n }).then(job => { jobIds.push(job.id!) }, () => { failures++ })
      ])
      await sleep(5)
    }
  })()

  await sleep(300)
  t.equal((await app.inject('/health/ready')).statusCode, 200)
  const beforeStop = tokens.length
  await redis.stop()
  const during = await app.inject('/health/ready')
  t.equal(during.statusCode, 503, 'not ready while Redis is down')
  t.same(during.json().checks, { redis: 'down' })
  await sleep(500)

  const restartedAt = Date.now()
  await redis.restart()
  let recoveredMs = -1
  while (Date.now() - restartedAt < 10_000) {
    if ((await app.inject('/health/ready')).statusCode === 200) {
      recoveredMs = Date.now() - restartedAt
      break
    }
    await sleep(20)
  }
  t.ok(recoveredMs >= 0 && recoveredMs <= 5000, `ready again ${recoveredMs} ms after Redis came back (≤ 5000)`)
  await sleep(300)
  state.running = false
  await writer

  t.ok(beforeStop > 0 && tokens.length > beforeStop, `writes acknowledged before (${beforeStop}) and after the outage (${tokens.length})`)
  t.comment(`${failures} writes refused during the outage (never acknowledged)`)
  const verified = await Promise.all(tokens.map(tok => app.auth.verifyToken(tok)))
  t.equal(verified.filter(v => v === null).length, 0, `all ${tokens.length} acknowledged tokens are still valid`)
  const present = await Promise.all(jobIds.map(id => queue.getJob(id)))
  t.equal(present.filter(j => !j).length, 0, `all ${jobIds.length} acknowledged jobs are still queued`)
  // A write the client saw fail may still have reached Redis just before the drop (its reply was lost): at most
  // the refused ones can be extra, never fewer than acknowledged.
  const waiting = (await queue.getJobCounts('waiting')).waiting ?? 0
  t.ok(waiting >= jobIds.length && waiting <= jobIds.length + failures, `${waiting} queued for ${jobIds.length} acknowledged`)
})
