import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { Redis } from 'ioredis'
import { LeaderBoard as Ctor } from '../../src/grpc/contract.js'
import type { LeaderBoardClient } from '../../src/grpc/generated/leaderboard/LeaderBoard.js'
import { build, deadline, grpcClient, privateRedis } from '../helpers/app.js'

// Finding: a stalled Redis (SIGSTOP, a partition) made requests hang forever. Every command of the shared
// connections now has a timeout (REDIS_COMMAND_TIMEOUT_MS): REST answers 503, gRPC UNAVAILABLE, readiness goes
// down, and everything recovers by itself once Redis answers again.

const TIMEOUT_MS = 500
// Scheduling slack on a busy machine (the answer itself is due after one command timeout).
const MARGIN_MS = 1500

function authenticate (client: LeaderBoardClient): Promise<ServiceError | null> {
  const data = Buffer.from('admin:admin-password').toString('base64')
  return new Promise(resolve => {
    client.AuthenticateUser({ data }, { deadline: deadline(20_000) }, (err) => resolve(err))
  })
}

function page (client: LeaderBoardClient, token: string): Promise<ServiceError | null> {
  const md = new Metadata()
  md.set('authorization', `Bearer ${token}`)
  return new Promise(resolve => {
    client.GetLeaderBoardPages({}, md, { deadline: deadline(20_000) }, (err) => resolve(err))
  })
}

t.test('with Redis stopped (SIGSTOP), REST answers 503 and gRPC UNAVAILABLE within the timeout; both recover after SIGCONT', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { config: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS), WORKERS_ENABLED: 'false' } })
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)

  // The redis-server itself (the handle's pid is its watchdog shell).
  const probe = new Redis(redis.url)
  const info = await probe.info('server')
  probe.disconnect()
  const pid = Number(/process_id:(\d+)/.exec(info)![1])

  const basic = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`
  const { jwt } = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic } })).json()
  const board = () => app.inject({ url: '/leaderboard', headers: { authorization: `Bearer ${jwt}` } })
  t.equal((await board()).statusCode, 200, 'answers before the stall')
  t.equal(await authenticate(client), null, 'gRPC login works before the stall')
  const token = await app.auth.issueToken('admin')
  t.equal(await page(client, token), null, 'a gRPC read works before the stall')

  process.kill(pid, 'SIGSTOP')
  let stopped = true
  // Whatever happens below, Redis is resumed (a stopped server would outlive the test).
  t.teardown(() => { if (stopped) process.kill(pid, 'SIGCONT') })

  let started = Date.now()
  const rest = await board()
  const restMs = Date.now() - started
  t.equal(rest.statusCode, 503, 'REST: 503 while Redis is stalled')
  t.equal(rest.json().code, 'PLAYFIELD_UNAVAILABLE')
  t.ok(restMs < TIMEOUT_MS + MARGIN_MS, `REST answered in ${restMs} ms (timeout ${TIMEOUT_MS} ms + ${MARGIN_MS} ms margin)`)

  started = Date.now()
  const err = await authenticate(client)
  const grpcMs = Date.now() - started
  t.equal(err?.code, status.UNAVAILABLE, 'gRPC: UNAVAILABLE while Redis is stalled')
  t.ok(grpcMs < TIMEOUT_MS + MARGIN_MS, `gRPC answered in ${grpcMs} ms (timeout ${TIMEOUT_MS} ms + ${MARGIN_MS} ms margin)`)
  started = Date.now()
  const readErr = await page(client, token)
  const readMs = Date.now() - started
  t.equal(readErr?.code, status.UNAVAILABLE, 'a gRPC call with a token (checked in the interceptor) is UNAVAILABLE too')
  t.ok(readMs < TIMEOUT_MS + MARGIN_MS, `answered in ${readMs} ms`)

  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 503, 'not ready while Redis is stalled')
  t.same(ready.json().checks, { redis: 'down' })

  process.kill(pid, 'SIGCONT')
  stopped = false
  const resumedAt = Date.now()
  let recoveredMs = -1
  while (Date.now() - resumedAt < 10_000) {
    const [r, l] = await Promise.all([app.inject('/health/ready'), board()])
    if (r.statusCode === 200 && l.statusCode === 200) {
      recoveredMs = Date.now() - resumedAt
      break
    }
    await sleep(50)
  }
  t.ok(recoveredMs >= 0, `REST ready and answering again ${recoveredMs} ms after SIGCONT, without a restart`)
  t.equal(await authenticate(client), null, 'gRPC login works again after SIGCONT')
  t.equal(await page(client, token), null, 'and gRPC reads with the token')
})
