import { setTimeout as sleep } from 'node:timers/promises'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { Redis } from 'ioredis'
import { build, tempDir } from '../helpers/app.js'

// Findings: the embedded Redis had no password and was not restarted when it died. It now runs with a random
// password (only the app's clients know it) and is started again by the app when it exits unexpectedly.

t.test('the embedded redis-server needs a password, and the app restarts it after a SIGKILL', async (t) => {
  const dir = await tempDir(t, 'playfield-embedded-')
  const app = await build(t, { config: { REDIS_URL: undefined, REDIS_DATA_DIR: dir, WORKERS_ENABLED: 'false' } })
  const info = await (app.redis as Redis).info('server')
  const port = Number(/tcp_port:(\d+)/.exec(info)![1])
  const pid = Number(/process_id:(\d+)/.exec(info)![1])

  const stranger = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false, retryStrategy: () => null })
  stranger.on('error', () => {})
  t.teardown(() => stranger.disconnect())
  await t.rejects(stranger.get('anything'), /NOAUTH/, 'a client without the password is refused')
  const conf = await stat(join(dir, 'playfield-auth.conf'))
  t.equal(conf.mode & 0o777, 0o600, 'the password file is readable by the owner only')

  const basic = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`
  t.equal((await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic } })).statusCode, 200)

  process.kill(pid, 'SIGKILL')
  const killedAt = Date.now()
  let recoveredMs = -1
  while (Date.now() - killedAt < 20_000) {
    await sleep(100)
    if ((await app.inject('/health/ready')).statusCode !== 200) continue
    const res = await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic } })
    if (res.statusCode === 200) {
      recoveredMs = Date.now() - killedAt
      break
    }
  }
  t.ok(recoveredMs >= 0, `serving again ${recoveredMs} ms after the embedded redis-server was killed`)
  const after = await (app.redis as Redis).info('server')
  t.not(Number(/process_id:(\d+)/.exec(after)![1]), pid, 'a new redis-server process')
  t.equal(Number(/tcp_port:(\d+)/.exec(after)![1]), port, 'on the same port')
})
