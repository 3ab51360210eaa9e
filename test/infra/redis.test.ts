import { spawn } from 'node:child_process'
import t from 'tap'
import { build, tempDir } from '../helpers/app.js'
import { RedisServerMissingError, startRedisServer } from '../../src/plugins/infra/redis-server.js'

function alive (pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gone (pid: number, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (alive(pid) && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 50))
  return !alive(pid)
}

t.test('without REDIS_URL the app starts its own redis-server, keeps data across restarts and stops it on close', async (t) => {
  const dir = await tempDir(t)
  const config = { REDIS_URL: undefined, REDIS_DATA_DIR: dir }

  const first = await build(t, { config })
  const pid = Number(/process_id:(\d+)/.exec(await first.redis.info('server'))?.[1])
  t.ok(alive(pid), 'embedded redis-server runs')
  t.same(await first.redis.config('GET', 'appendonly'), ['appendonly', 'yes'])
  t.same(await first.redis.config('GET', 'appendfsync'), ['appendfsync', 'everysec'])
  t.same(await first.redis.config('GET', 'bind'), ['bind', '127.0.0.1'])
  await first.redis.set('auth:test:kept', 'yes')
  await first.close()
  t.ok(await gone(pid), 'redis-server is gone after close')

  const second = await build(t, { config })
  t.equal(await second.redis.get('auth:test:kept'), 'yes', 'data survived the restart (AOF)')
  await second.close()
})

t.test('a missing redis-server binary fails with a message saying how to install it', async (t) => {
  const dir = await tempDir(t)
  await t.rejects(startRedisServer({ dir, bin: 'redis-server-that-does-not-exist' }), RedisServerMissingError)
  await t.rejects(startRedisServer({ dir, bin: 'redis-server-that-does-not-exist' }), /apt-get install redis-server.*REDIS_URL/)
})

t.test('the embedded redis-server does not outlive a killed parent', async (t) => {
  const dir = await tempDir(t)
  // A throwaway parent starts a redis-server and prints its pid; then we SIGKILL the parent.
  const module = new URL('../../src/plugins/infra/redis-server.ts', import.meta.url).pathname
  const script = `
    import { startRedisServer } from ${JSON.stringify(module)}
    const { Redis } = await import('ioredis')
    const h = await startRedisServer({ dir: ${JSON.stringify(dir)}, aof: false })
    const c = new Redis(h.url)
    console.log(/process_id:(\\d+)/.exec(await c.info('server'))[1])
    c.disconnect()
    setInterval(() => {}, 1000)
  `
  const parent = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
  t.ok(alive(pid), 'child redis-server started')
  parent.kill('SIGKILL')
  t.ok(await gone(pid), 'redis-server exited after its parent was killed')
})
