import { readdir } from 'node:fs/promises'
import t from 'tap'
import type { Job } from 'bullmq'
import { build, grpcClient, tempDir } from '../helpers/app.js'
import { sendOne, type UsersStub } from '../helpers/users.js'
import { Users } from '../../src/grpc/contract.js'
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
  return await build(t, {
    config: { REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.addresses, ADS_RATE_LIMIT_MAX: '0', ...config }
  })
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

t.test('a master SIGKILLed under writes: ready again within 30 s, every acknowledged write readable', async (t) => {
  const app = await clusterApp(t, { USERS_REQUIRE_AUTH: 'false', USERS_EXPORT_DEBOUNCE_MS: '600000' })
  const auth = await jwt(app)
  const users = grpcClient<UsersStub>(t, app, Users)
  const boards = Array.from({ length: 8 }, (_, i) => `failover-${i}`)
  const acked = { scores: new Map<string, number>(), impressions: new Map<string, number>(), users: [] as string[] }
  const refused = { scores: 0, impressions: new Map<string, number>(), users: 0 }
  const writing = { stop: false }
  // Three writers, one per kind of data: scores (one board per slot), ad counters (one hash per username), and
  // users ingested over gRPC (a BullMQ job, then a worker's upsert into the user's shard).
  const loop = async (write: (n: number) => Promise<void>) => {
    for (let n = 0; !writing.stop; n++) await write(n)
  }
  // A plain impression counts only for a username that asked for an ad (it never creates counters itself).
  for (let u = 0; u < 8; u++) {
    const ad = await app.inject({ url: `/ad?sdk_version=9.9&session_id=s-ad&platform=android&username=fo${u}&country_code=US` })
    t.equal(ad.statusCode, 200, `fo${u} asked for an ad`)
  }
  const writers = [
    loop(async (n) => {
      const board = boards[n % boards.length]!
      const res = await app.inject({
        method: 'POST', url: `/scores?board=${board}`, headers: { authorization: auth }, payload: [{ name: `p${n}`, score: n }]
      })
      if (res.statusCode === 200) acked.scores.set(`${board}/p${n}`, n)
      else refused.scores++
    }),
    loop(async (n) => {
      const user = `fo${n % 8}`
      const res = await app.inject({ url: `/impression?sdk_version=9.9&session_id=s-${n}&platform=android&username=${user}&country_code=US` })
      const into = res.statusCode === 200 ? acked.impressions : refused.impressions
      into.set(user, (into.get(user) ?? 0) + 1)
    }),
    loop(async (n) => {
      const email = `fo${n}@example.com`
      try {
        const reply = await sendOne(users, { id: n + 1, user_name: `fo${n}`, email, first_name: 'F', last_name: 'L' })
        if (reply.accepted === 1) acked.users.push(email)
        else refused.users++
      } catch {
        refused.users++
      }
    })
  ]
  await new Promise(resolve => setTimeout(resolve, 1000))
  const before = acked.scores.size + acked.users.length

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
  await new Promise(resolve => setTimeout(resolve, 1000))
  writing.stop = true
  await Promise.all(writers)
  const refusedImpressions = [...refused.impressions.values()].reduce((a, b) => a + b, 0)
  t.comment(`failover: ready again after ${readyAfter} ms, first write to the lost slot after ${writeAfter} ms; ` +
    `acknowledged ${acked.scores.size} scores, ${[...acked.impressions.values()].reduce((a, b) => a + b, 0)} ` +
    `impressions, ${acked.users.length} users (${before} scores and users before the kill); refused during the ` +
    `failover: ${refused.scores} scores, ${refusedImpressions} impressions, ${refused.users} users`)
  t.ok(readyAfter >= 0 && readyAfter < 30_000, 'ready within 30 s')
  t.ok(writeAfter >= 0, 'writes to the lost slot work again')
  t.ok(acked.scores.size + acked.users.length > before, 'writes were acknowledged after the failover too')

  let missing = 0
  for (const [key, score] of acked.scores) {
    const [board, name] = key.split('/') as [string, string]
    const res = await app.inject({ url: `/leaderboard?board=${board}&name=${name}`, headers: { authorization: auth } })
    const me = res.json().around_me?.find((r: { name: string }) => r.name === name) ??
      res.json().results?.find((r: { name: string }) => r.name === name)
    if (me?.score !== score) missing++
  }
  t.equal(missing, 0, 'every acknowledged score is readable')

  t.equal(acked.impressions.size, 8, 'impressions were counted for every username')
  // A refused impression may still have been counted (the reply, not the write, was lost): the count lies between
  // the acknowledged ones and those plus the refused ones.
  for (const [user, count] of acked.impressions) {
    const stats = (await app.inject({ url: `/statistics?username=${user}` })).json()[user]
    const upper = count + (refused.impressions.get(user) ?? 0)
    t.ok(stats.impressions >= count && stats.impressions <= upper, `${user}: ${stats.impressions} in [${count}, ${upper}]`)
  }

  // Acknowledged users are queued jobs: the workers store every one of them.
  let stored = 0
  const until = Date.now() + 30_000
  do {
    stored = 0
    for (const email of acked.users) {
      if ((await app.inject({ url: `/users/${email}`, headers: { authorization: auth } })).statusCode === 200) stored++
    }
    if (stored === acked.users.length) break
    await new Promise(resolve => setTimeout(resolve, 500))
  } while (Date.now() < until)
  t.equal(stored, acked.users.length, 'every acknowledged user is stored')
})
