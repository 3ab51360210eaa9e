import t from 'tap'
import { Cluster, type Redis } from 'ioredis'
import { keySlot, perKey } from '../../../src/plugins/infra/gather.js'
import type { RedisClient } from '../../../src/plugins/infra/lua.js'
import {
  createUsersStore, indexKey, migrateLegacy, shardOf, SHARDS, snapshotKey, statsKey, userKey, versionsKey
} from '../../../src/plugins/users/redis-store.js'
import { allKeys, ON_CLUSTER, redisClient } from '../../helpers/app.js'

// The users store on its own: sharding, the merged listing and export, per-shard versioning, and the migration of
// the single-node layout. Runs on one node and (PLAYFIELD_TEST_REDIS=cluster) on the cluster.

type Test = import('tap').Test

/** A client of this file's Redis with every key deleted. */
async function emptyRedis (t: Test): Promise<RedisClient> {
  const redis = await redisClient(t)
  await redis.ping() // a cluster client knows its masters once connected
  await perKey(redis, await allKeys(redis), (p, key) => { p.del(key) })
  return redis
}

const json = (email: string, name = 'n') => JSON.stringify({ email, user_name: name })
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

// Emails whose UTF-16 order differs from Redis' byte order (U+FF45 sorts before an astral character in UTF-16,
// after it in UTF-8), and one holding braces, which must not change its hash tag.
const ODD = ['ｅ@example.com', '😀@example.com', 'é@example.com', 'z{x}@example.com', 'a}b@example.com']
const EMAILS = [...Array.from({ length: 300 }, (_, i) => `user${i}@example.com`), ...ODD]

t.test('users spread over every shard and the masters; pages merge the shards in Redis byte order', async (t) => {
  const redis = await emptyRedis(t)
  const store = createUsersStore(redis)
  t.same(await store.upsert(EMAILS.map(e => ({ key: e, json: json(e) })), 1 << 20),
    { inserted: EMAILS.length, updated: 0, unchanged: 0 })

  t.equal(new Set(EMAILS.map(shardOf)).size, SHARDS, 'every shard holds users')
  t.equal(userKey('a}b@example.com'), `users:{sh:${shardOf('a}b@example.com')}}:u:a}b@example.com`)
  for (const e of ODD) t.equal(keySlot(userKey(e)), keySlot(indexKey(shardOf(e))), `${e} lies in its shard's slot`)
  if (redis instanceof Cluster) {
    const perMaster = await Promise.all(redis.nodes('master').map(async m => (await allKeys(m, 'users:{sh:*}:u:*')).length))
    t.equal(perMaster.reduce((a, b) => a + b, 0), EMAILS.length)
    t.ok(perMaster.filter(n => n > 0).length >= 2, `records on at least 2 masters (${perMaster.join(', ')})`)
  }

  const sorted = [...EMAILS].sort(byBytes)
  const seen: string[] = []
  let after: string | undefined
  for (;;) {
    const page = await store.page(after, 37)
    if (page.keys.length === 0) break
    t.same(page.values, page.keys.map(e => json(e)))
    seen.push(...page.keys)
    after = page.keys[page.keys.length - 1]
  }
  t.same(seen, sorted, 'every user once, in the order of one index')
  t.same((await store.page(sorted[99], 3)).keys, sorted.slice(100, 103), 'the cursor is exclusive')
  t.equal(await store.count(), EMAILS.length)
  t.same(await store.stats(), { inserted: EMAILS.length, updated: 0, unchanged: 0 })
  t.equal(await store.get('ｅ@example.com'), json('ｅ@example.com'))
})

t.test('a page drawn from one shard only reads that shard again until the page is full', async (t) => {
  const redis = await emptyRedis(t)
  const store = createUsersStore(redis)
  const skewed = Array.from({ length: 2000 }, (_, i) => `skew${i}@example.com`).filter(e => shardOf(e) === 3)
    .slice(0, 50)
  t.equal(skewed.length, 50)
  await store.upsert(skewed.map(e => ({ key: e, json: json(e) })))
  const sorted = [...skewed].sort(byBytes)
  t.same((await store.page(undefined, 20)).keys, sorted.slice(0, 20))
  t.same((await store.page(sorted[19], 40)).keys, sorted.slice(20))
  const out: string[] = []
  for await (const page of store.pages(await store.snapshot('skew'), 8)) out.push(...page.keys)
  t.same(out, sorted)
})

t.test('an export snapshot is fixed at its start and streamed in email order, then dropped', async (t) => {
  const redis = await emptyRedis(t)
  const store = createUsersStore(redis)
  await store.upsert(EMAILS.map(e => ({ key: e, json: json(e) })))
  const snap = await store.snapshot('exp-1')
  t.equal(snap.count, EMAILS.length)
  await store.upsert([{ key: 'later@example.com', json: json('later@example.com') }])
  await store.upsert([{ key: 'user7@example.com', json: json('user7@example.com', 'changed') }])
  const out: string[] = []
  const values = new Map<string, string>()
  let pages = 0
  for await (const page of store.pages(snap, 64)) {
    pages++
    t.ok(page.keys.length <= 64)
    page.keys.forEach((k, i) => { out.push(k); values.set(k, page.values[i]!) })
  }
  t.same(out, [...EMAILS].sort(byBytes), 'the users of the snapshot, each once, in order')
  t.equal(pages, Math.ceil(EMAILS.length / 64))
  t.equal(values.get('user7@example.com'), json('user7@example.com', 'changed'), 'records are read as they are now')
  const ttl = await redis.ttl(snapshotKey(shardOf('user1@example.com'), 'exp-1'))
  t.ok(ttl > 0 && ttl <= 3600, 'a snapshot expires on its own')
  await store.dropSnapshot(snap)
  t.same(await allKeys(redis, 'users:{sh:*}:snap:*'), [])
  t.equal((await store.snapshot('exp-2')).count, EMAILS.length + 1, 'a later export sees the later user')
  t.same((await allKeys(redis, 'users:{sh:*}:snap:*')).length, SHARDS)
})

t.test('a batch split over shards keeps its versions: a re-run changes nothing, an older batch loses', async (t) => {
  const redis = await emptyRedis(t)
  const store = createUsersStore(redis)
  const batch = (name: string) => EMAILS.slice(0, 100).map(e => ({ key: e, json: json(e, name) }))
  const v2 = 2 * (1 << 20)
  t.same(await store.upsert(batch('new'), v2), { inserted: 100, updated: 0, unchanged: 0 })
  t.same(await store.upsert(batch('new'), v2), { inserted: 0, updated: 0, unchanged: 100 }, 'the same job again')
  t.same(await store.upsert(batch('old'), 1 << 20), { inserted: 0, updated: 0, unchanged: 100 }, 'an older job')
  t.equal(await store.get('user5@example.com'), json('user5@example.com', 'new'))
  // Within a batch the last record of an email wins, wherever the batch is split.
  const twice = [{ key: 'x@example.com', json: json('x@example.com', 'a') }, ...batch('new'),
    { key: 'x@example.com', json: json('x@example.com', 'b') }]
  t.same(await store.upsert(twice, 3 * (1 << 20)), { inserted: 1, updated: 1, unchanged: 100 })
  t.equal(await store.get('x@example.com'), json('x@example.com', 'b'))
  t.equal(await redis.hget(versionsKey(shardOf('x@example.com')), 'x@example.com'), String(3 * (1 << 20) + 101))
  t.same(await store.stats(), { inserted: 101, updated: 1, unchanged: 300 })
})

t.test('migrateLegacy moves the single-node layout into the shards, once',
  { skip: ON_CLUSTER && 'migrate-keys runs on the single Redis that holds the old data' }, async (t) => {
    const redis = await emptyRedis(t) as Redis
    const store = createUsersStore(redis)
    const old = EMAILS.slice(0, 120).concat(ODD)
    // The old layout, written by hand: records, the global index, versions, stats and a leftover snapshot.
    for (const e of old) await redis.set(`users:u:${e}`, json(e, 'old'))
    await redis.zadd('users:index', ...old.flatMap(e => [0, e]))
    await redis.hset('users:ver', Object.fromEntries(old.map(e => [e, String(5 << 20)])))
    await redis.hset('users:stats', { inserted: old.length, updated: 3, unchanged: 7 })
    await redis.zadd('users:snap:9', 0, old[0]!)
    // A user the new version stored before the migration ran keeps that record.
    await store.upsert([{ key: old[1]!, json: json(old[1]!, 'new') }], 6 << 20)

    t.equal(await migrateLegacy(redis), old.length - 1)
    t.equal(await migrateLegacy(redis), 0, 'running it again changes nothing')
    t.same(await allKeys(redis, 'users:[^{]*'), [], 'no key of the old layout is left')
    t.equal(await store.count(), old.length)
    t.same(await store.stats(), { inserted: old.length + 1, updated: 3, unchanged: 7 })
    t.equal(await store.get(old[0]!), json(old[0]!, 'old'))
    t.equal(await store.get(old[1]!), json(old[1]!, 'new'))
    const listed: string[] = []
    for (let p = await store.page(undefined, 1000); p.keys.length > 0; p = await store.page(p.keys.at(-1), 1000)) {
      listed.push(...p.keys)
    }
    t.same(listed, [...old].sort(byBytes))
    // The versions moved too: a batch older than the migrated records changes none of them.
    t.same(await store.upsert(old.map(e => ({ key: e, json: json(e, 'older') })), 4 << 20),
      { inserted: 0, updated: 0, unchanged: old.length })
    t.equal(await redis.hget(statsKey(0), 'updated'), '3')
  })
