import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { credentials, Metadata, type ClientWritableStream } from '@grpc/grpc-js'
import { Queue } from 'bullmq'
import { ON_CLUSTER, redisClient, tempDir, testRedisEnv } from '../helpers/app.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'
import { Users } from '../../src/grpc/contract.js'

// Many stateless replicas and many workers on one Redis (and, on the cluster pass, on a Redis Cluster): two app
// processes with their own ports and no in-process workers, five standalone worker processes. Whatever replica a
// client reaches, it sees the same state; every job runs once, whichever worker takes it.

const root = fileURLToPath(new URL('../..', import.meta.url))
const ADMIN = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`
const USERS = 50_000
const ADS_PER_REPLICA = 10_000

interface Proc { child: ChildProcess, exited: Promise<number | null> }
interface Replica extends Proc { base: string, grpc: string }

async function spawnProc (t: Test, entry: string, env: Record<string, string>): Promise<Proc> {
  const child = spawn(process.execPath, ['--import=tsx', entry], {
    cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))])
    }
  })
  return { child, exited }
}
type Test = import('tap').Test
const json = async (res: Response | Promise<Response>): Promise<any> => await (await res).json()

async function until (what: string, ok: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Runs `n` tasks with at most `width` in flight. */
async function pool (n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => { while (next < n) await task(next++) }))
}

t.test('2 replicas and 5 workers share one state: users, ads, ranks, maintenance, a replica stopped under load',
  async (t) => {
    const dir = await tempDir(t)
    const exportPath = join(dir, 'all_users.json')
    const common: Record<string, string> = {
      ...(await testRedisEnv()) as Record<string, string>,
      LOG_LEVEL: 'warn',
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'admin-password',
      // Replicas share their secrets: a JWT or a signed Impression URL from one is honoured by the other.
      JWT_SECRET: 'replicas-test-jwt-secret-0123456789abcdef',
      ADS_SIGNING_SECRET: 'replicas-test-ads-secret',
      SHAPES_SIGNATURE: 'replicas-test',
      RATE_LIMIT_MAX: '1000000',
      ADS_RATE_LIMIT_MAX: '0',
      SESSIONS_RATE_LIMIT_MAX: '0',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      USERS_EXPORT_PATH: exportPath,
      USERS_EXPORT_DEBOUNCE_MS: '500',
      LEADERBOARD_MAINTENANCE_CRON: '* * * * * *',
      SHUTDOWN_TIMEOUT_MS: '8000'
    }
    const replicas: Replica[] = []
    for (let i = 0; i < 2; i++) {
      const [http, grpc] = [await freePort(), await freePort()]
      const proc = await spawnProc(t, 'src/server.ts', {
        ...common, WORKERS_ENABLED: 'false', HTTP_PORT: String(http), GRPC_PORT: String(grpc)
      })
      replicas.push({ ...proc, base: `http://127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` })
    }
    const workers = await Promise.all(Array.from({ length: 5 }, () => spawnProc(t, 'src/worker.ts', common)))
    for (const r of replicas) await until(`${r.base} ready`, async () => (await fetch(`${r.base}/health/ready`)).ok)
    const [a, b] = replicas as [Replica, Replica]

    const jwt = (await json(fetch(`${a.base}/auth`, { method: 'POST', headers: { authorization: ADMIN } }))).jwt
    const auth = { authorization: `Bearer ${jwt}` }
    const token = (await json(fetch(`${b.base}/tokens`, { method: 'POST', headers: { authorization: ADMIN } }))).token

    t.test('50,000 users sent half through each replica are stored once and exported once', async (t) => {
      const send = async (r: Replica, from: number, to: number) => {
        const client = new Users(r.grpc, credentials.createInsecure()) as any
        const md = new Metadata()
        md.set('authorization', `Bearer ${token}`)
        try {
          return await new Promise<{ accepted: number }>((resolve, reject) => {
            const call: ClientWritableStream<object> = client.SendUserBatchStream(md,
              { deadline: Date.now() + 120_000 },
              (err: Error | null, res: { accepted: number }) => err ? reject(err) : resolve(res))
            const write = async () => {
              for (let i = from; i < to; i += 100) {
                const users = []
                for (let j = i; j < Math.min(i + 100, to); j++) {
                  users.push({ id: j + 1, user_name: `u${j}`, email: `user${j}@example.com`, first_name: 'F', last_name: 'L' })
                }
                if (!call.write({ users })) await new Promise(resolve => call.once('drain', resolve))
              }
              call.end()
            }
            write().catch(reject)
          })
        } finally {
          client.close()
        }
      }
      const replies = await Promise.all([send(a, 0, USERS / 2), send(b, USERS / 2, USERS)])
      t.same(replies.map(r => r.accepted), [USERS / 2, USERS / 2], 'each replica accepted its half')

      let stats: any
      await until('every user stored', async () => {
        stats = await json(fetch(`${b.base}/users/stats`, { headers: auth }))
        return stats.stored === USERS
      }, 120_000)
      t.equal(stats.stored, USERS, 'stored once each')
      t.equal(stats.inserted, USERS, 'inserted exactly once each (no job applied twice as new)')

      let exported: Array<{ email: string }> = []
      await until('the export holds every user', async () => {
        exported = JSON.parse(await readFile(exportPath, 'utf8'))
        return exported.length === USERS
      }, 120_000)
      t.equal(new Set(exported.map(u => u.email)).size, USERS, 'every user exported once')
    })

    t.test('ad requests and impressions spread over both replicas give exact statistics', async (t) => {
      const names = ['jack', 'jill', 'amy', 'bo']
      const query = (i: number) => `sdk_version=2.${i % 2}&session_id=s-${i}&platform=android&username=${names[i % 4]}&country_code=US`
      // Each replica serves 10,000 ads, and 10,000 impressions arrive at each replica: the signed Impression URLs
      // of the ads the OTHER replica served. A sample is fired twice (at both replicas) and must count once.
      const impressions: Array<[Replica, string]> = []
      await pool(2 * ADS_PER_REPLICA, 32, async (i) => {
        const [from, to] = i % 2 === 0 ? [a, b] : [b, a]
        const res = await fetch(`${from.base}/ad?${query(i)}`)
        const xml = await res.text()
        const url = /<Impression id="playfield">([^<]+)<\/Impression>/.exec(xml)?.[1]?.replaceAll('&amp;', '&')
        if (res.status !== 200 || !url) throw new Error(`ad ${i}: ${res.status} ${xml.slice(0, 200)}`)
        impressions.push([to, new URL(url).search])
      })
      await pool(impressions.length, 32, async (i) => {
        const [to, search] = impressions[i]!
        const res = await fetch(`${to.base}/impression${search}`)
        const again = i % 20 === 0 ? await fetch(`${(to === a ? b : a).base}/impression${search}`) : res
        if (res.status !== 200 || again.status !== 200) throw new Error(`impression ${i}: ${res.status}/${again.status}`)
      })
      for (const name of names) {
        const stats = await json(fetch(`${a.base}/statistics?username=${name}`))
        t.same([stats[name].ad_requests, stats[name].impressions], [ADS_PER_REPLICA / 2, ADS_PER_REPLICA / 2], name)
      }
      const sdk = await json(fetch(`${b.base}/statistics?sdk=2.0`))
      t.equal(sdk['2.0'].ad_requests, ADS_PER_REPLICA)
      t.equal(sdk['2.0'].impressions, ADS_PER_REPLICA)
    })

    t.test('both replicas answer the same ranks', async (t) => {
      const entries = Array.from({ length: 50 }, (_, i) => ({ name: `r${i}`, score: (i * 37) % 101 }))
      const res = await fetch(`${a.base}/scores?board=replicas`, {
        method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(entries)
      })
      t.equal(res.status, 200)
      for (const page of [1, 2, 3]) {
        const [pa, pb] = await Promise.all([a, b].map(async r =>
          await json(fetch(`${r.base}/leaderboard?board=replicas&page=${page}&name=r7`, { headers: auth }))))
        t.same(pb, pa, `page ${page}`)
      }
    })

    t.test('the maintenance job runs once per tick, not once per worker', async (t) => {
      const redis = await redisClient(t)
      const queue = new Queue('maintenance', { connection: redis, prefix: '{lb:q}' })
      t.teardown(() => queue.close())
      t.equal((await queue.getJobSchedulers()).length, 1, 'one schedule, upserted by five workers')
      const start = Date.now()
      await sleep(4000)
      const jobs = (await queue.getCompleted(0, 200)).filter(j => (j.finishedOn ?? 0) >= start)
      const ticks = new Set(jobs.map(j => Math.floor((j.opts.prevMillis ?? j.timestamp) / 1000)))
      t.ok(jobs.length >= 2, `the schedule fires (${jobs.length} runs in 4 s)`)
      t.equal(jobs.length, ticks.size, 'one run per tick')
    })

    t.test('stopping one replica under load loses no acknowledged request', async (t) => {
      const acked: string[] = []
      let refused = 0
      let i = 0
      const load = pool(3000, 16, async () => {
        const n = i++
        const order = n % 2 === 0 ? [a, b] : [b, a]
        // A load balancer's view: a replica that is gone (connection refused / closing) gets no more traffic.
        for (const r of order) {
          try {
            const res = await fetch(`${r.base}/scores?board=drain`, {
              method: 'POST',
              headers: { ...auth, 'content-type': 'application/json' },
              body: JSON.stringify([{ name: `d${n}`, score: n }])
            })
            if (res.status === 200) { acked.push(`d${n}`); return }
            refused++
          } catch {
            refused++
          }
        }
      })
      await sleep(500)
      a.child.kill('SIGTERM')
      t.equal(await a.exited, 0, 'the stopped replica exits cleanly')
      await load
      t.comment(`${acked.length} acknowledged, ${refused} attempts refused by the stopping replica and retried`)
      let missing = 0
      await pool(acked.length, 16, async (k) => {
        const name = acked[k]!
        const res = await json(fetch(`${b.base}/leaderboard?board=drain&name=${name}`, { headers: auth }))
        const listed = [...(res.around_me ?? []), ...(res.results ?? [])] as Array<{ name: string }>
        if (!listed.some(r => r.name === name)) missing++
      })
      t.equal(missing, 0, 'every acknowledged score is on the board')
    })

    t.teardown(async () => {
      for (const w of workers) w.child.kill('SIGTERM')
      await Promise.all(workers.map(w => w.exited))
    })
    t.comment(ON_CLUSTER ? 'on a Redis Cluster' : 'on one Redis')
  })
