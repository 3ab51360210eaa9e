import { readdir } from 'node:fs/promises'
import t from 'tap'
import type { Job } from 'bullmq'
import { build, tempDir } from '../helpers/app.js'
import { keySlot, perKey } from '../../src/plugins/infra/gather.js'
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js'

// Redis Cluster mode end to end, on a private 3-master + 3-replica cluster of this file (whatever
// PLAYFIELD_TEST_REDIS says): the app connects with REDIS_CLUSTER_NODES, spreads keys over the masters, runs
// BullMQ on it, and comes back after a master is SIGKILLed with every acknowledged write still there.

type Test = import('tap').Test
const ADMIN = { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}` }

let cluster: RedisClusterHandle
t.before(async () => {
  cluster = await startRedisCluster(await tempDir(t, 'playfield-cluster-'))
})
t.teardown(() => cluster.stop())

async function clusterApp (t: Test, config: Record<string, string | undefined> = {}) {
  return await build(t, { config: { REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.addresses, ...config } })
}

async function jwt (app: Awaited<ReturnType<typeof clusterApp>>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth', headers: ADMIN })
  return `Bearer ${res.json().jwt}`
}

t.test('with REDIS_CLUSTER_NODES the app starts no redis-server and its keys spread over the masters', async (t) => {
  const dataDir = await tempDir(t)
  const app = await clusterApp(t, { REDIS_DATA_DIR: dataDir })
  t.same(await readdir(dataDir), [], 'no embedded redis-server wrote into REDIS_DATA_DIR')
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)

  const auth = await jwt(app)
  for (let i = 0; i < 12; i++) {
    const res = await app.inject({
      method: 'POST', url: `/scores?board=spread-${i}`, headers: { authorization: auth }, payload: [{ name: 'p', score: i }]
    })
    t.equal(res.statusCode, 200, res.body)
  }
  const page = await app.inject({ url: '/leaderboard?board=spread-7', headers: { authorization: auth } })
  t.same(page.json().results, [{ name: 'p', score: 7, rank: 1 }])

  const client = cluster.client()
  t.teardown(() => client.disconnect())
  await client.ping()
  const sizes = await Promise.all(client.nodes('master').map(n => n.dbsize()))
  t.ok(sizes.filter(n => n > 0).length >= 2, `keys lie on at least 2 masters (${sizes.join(', ')})`)
})

t.test('keySlot agrees with CLUSTER KEYSLOT, and perKey gathers keys of every master in key order', async (t) => {
  const client = cluster.client()
  t.teardown(() => client.disconnect())
  const keys = ['a', 'lb:{weekly}:all', '{}x', 'x{}{y}', 'sess:{d:20000:FI}:starts', 'ümlaut', ...Array.from({ length: 40 }, (_, i) => `k${i}`)]
  for (const key of keys.slice(0, 6)) t.equal(keySlot(key), Number(await client.cluster('KEYSLOT', key)), key)
  for (const [i, key] of keys.entries()) await client.set(key, String(i))
  t.same(await perKey<string>(client, keys, (p, key) => { p.get(key) }), keys.map((_k, i) => String(i)))
})

t.test('BullMQ queues and workers run on the cluster', async (t) => {
  const app = await clusterApp(t)
  const queue = app.queues.queue<{ n: number }, number>('probe', 'double')
  const done = new Promise<number>((resolve) => {
    app.queues.worker<{ n: number }, number>('probe', 'double', async (job: Job<{ n: number }, number>) => {
      const out = job.data.n * 2
      resolve(out)
      return out
    })
  })
  await queue.add('double', { n: 21 })
  t.equal(await done, 42)
})

t.test('a master SIGKILLed under writes: ready again within 30 s, every acknowledged score readable', async (t) => {
  const app = await clusterApp(t)
  const auth = await jwt(app)
  const boards = Array.from({ length: 8 }, (_, i) => `failover-${i}`)
  const acked = new Map<string, number>()
  let failed = 0
  const writing = { stop: false }
  let n = 0
  const writer = (async () => {
    while (!writing.stop) {
      const board = boards[n % boards.length]!
      const name = `p${n++}`
      const res = await app.inject({
        method: 'POST', url: `/scores?board=${board}`, headers: { authorization: auth }, payload: [{ name, score: n }]
      })
      if (res.statusCode === 200) acked.set(`${board}/${name}`, n)
      else failed++
    }
  })()
  await new Promise(resolve => setTimeout(resolve, 500))
  const before = acked.size

  const client = cluster.client()
  t.teardown(() => client.disconnect())
  const victim = await cluster.masterOf(`lb:{${boards[0]}}:all`)
  const killedAt = Date.now()
  cluster.kill(victim)

  // Ready again: a replica took over and the app's slot map follows; then a write to the dead master's slot works.
  let readyAfter = -1
  let writeAfter = -1
  while (Date.now() - killedAt < 30_000 && (readyAfter < 0 || writeAfter < 0)) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const masters = await cluster.masters().catch(() => [] as number[])
    if (readyAfter < 0 && !masters.includes(victim) && masters.length === 3 &&
      (await app.inject({ url: '/health/ready' })).statusCode === 200) readyAfter = Date.now() - killedAt
    if (writeAfter < 0) {
      const res = await app.inject({
        method: 'POST', url: `/scores?board=${boards[0]}`, headers: { authorization: auth }, payload: [{ name: 'probe', score: 1 }]
      })
      if (res.statusCode === 200) writeAfter = Date.now() - killedAt
    }
  }
  await new Promise(resolve => setTimeout(resolve, 500))
  writing.stop = true
  await writer
  t.comment(`failover: ready again after ${readyAfter} ms, first write to the lost slot after ${writeAfter} ms; ` +
    `${acked.size} writes acknowledged (${before} before the kill), ${failed} refused during the failover`)
  t.ok(readyAfter >= 0 && readyAfter < 30_000, 'ready within 30 s')
  t.ok(writeAfter >= 0, 'writes to the lost slot work again')
  t.ok(acked.size > before, 'writes were acknowledged after the failover too')

  let missing = 0
  for (const [key, score] of acked) {
    const [board, name] = key.split('/') as [string, string]
    const res = await app.inject({ url: `/leaderboard?board=${board}&name=${name}`, headers: { authorization: auth } })
    const me = res.json().around_me?.find((r: { name: string }) => r.name === name) ??
      res.json().results?.find((r: { name: string }) => r.name === name)
    if (me?.score !== score) missing++
  }
  t.equal(missing, 0, 'every acknowledged score is readable')
})
