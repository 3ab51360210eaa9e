import { createHash } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { allKeys, build, privateRedis } from '../helpers/app.js'
import { hashPassword } from '../../src/plugins/accounts/service.js'
import { allRules, migrateKeys } from '../../src/cli/migrate-keys.js'

// Data written before the hash-tagged layout moves to the new names once; a second run changes nothing.

t.test('migrate-keys renames the old layout once and is idempotent', async (t) => {
  const server = await privateRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  await redis.set('users:q:ingest:id', '7')
  await redis.hset('lb:q:maintenance:1', 'name', 'maintain')
  await redis.set('{users:q}:export:id', '3')
  await redis.set('unrelated', 'x')
  const { rules, migrations } = allRules()

  const dry = await migrateKeys(redis, rules, migrations, { dryRun: true })
  t.equal(dry.renamed, 2)
  t.equal(await redis.get('users:q:ingest:id'), '7', 'a dry run changes nothing')

  const first = await migrateKeys(redis, rules, migrations)
  t.same([first.scanned, first.renamed, first.conflicts], [4, 2, []])
  t.equal(await redis.get('{users:q}:ingest:id'), '7')
  t.same(await redis.hgetall('{lb:q}:maintenance:1'), { name: 'maintain' })
  t.equal(await redis.get('unrelated'), 'x')

  const second = await migrateKeys(redis, rules, migrations)
  t.equal(second.renamed, 0, 'nothing left to move')
})

t.test('an old key whose new name already exists is reported, never overwritten', async (t) => {
  const server = await privateRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  await redis.set('users:q:ingest:id', 'old')
  await redis.set('{users:q}:ingest:id', 'new')
  const { rules, migrations } = allRules()
  const report = await migrateKeys(redis, rules, migrations)
  t.same(report.conflicts, ['users:q:ingest:id → {users:q}:ingest:id'])
  t.equal(await redis.get('{users:q}:ingest:id'), 'new')
})

t.test('accounts written in the old layout log in, keep their tokens and their login counter', async (t) => {
  const server = await privateRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  const tokenKey = `auth:token:${createHash('sha256').update('abcdef0123').digest('hex')}`
  await redis.hset('auth:account:oldie', 'pw', await hashPassword('oldie-password'), 'admin', '0', 'created', '1')
  await redis.sadd('auth:user-tokens:oldie', tokenKey)
  await redis.set(tokenKey, 'oldie')
  await redis.set('auth:rl:user:oldie', '3', 'PX', 600_000)
  const { rules, migrations } = allRules()
  const report = await migrateKeys(redis, rules, migrations)
  t.same([report.renamed, report.conflicts], [3, []])
  t.same(await allKeys(redis, 'auth:*'),
    [tokenKey, 'auth:{u:oldie}:account', 'auth:{u:oldie}:rl', 'auth:{u:oldie}:tokens'])
  t.ok(await redis.pttl('auth:{u:oldie}:rl') > 0, 'the login window keeps its expiry')

  const app = await build(t, { config: { REDIS_URL: server.url } })
  t.match(await app.auth.verifyPassword('oldie', 'oldie-password'), { username: 'oldie', admin: false })
  t.equal(await app.auth.verifyToken('abcdef0123'), 'oldie')
  t.equal(await app.auth.revokeAllTokens('oldie'), 1)
  t.equal(await app.auth.verifyToken('abcdef0123'), null)
})

t.test('categories written in the old layout (a children list per parent) read back and grow after the move', async (t) => {
  const server = await privateRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  // Root 1 with children 2 and 4; 2 has child 3. Written as the old version did.
  await redis.set('cat:{tree}:seq', '4')
  await redis.hset('cat:{tree}:names', 'A', '1', 'B', '2', 'C', '3', 'D', '4')
  await redis.hset('cat:{tree}:name', '1', 'A', '2', 'B', '3', 'C', '4', 'D')
  await redis.hset('cat:{tree}:parent', '1', '0', '2', '1', '3', '2', '4', '1')
  await redis.rpush('cat:{tree}:roots', '1')
  await redis.rpush('cat:{tree}:children:1', '2', '4')
  await redis.rpush('cat:{tree}:children:2', '3')
  const { rules, migrations } = allRules()
  const report = await migrateKeys(redis, rules, migrations)
  t.same([report.renamed, report.migrated['category children lists']], [0, 2])
  t.same(await redis.hgetall('cat:{tree}:children'), { 1: '2,4', 2: '3' })
  t.same(await allKeys(redis, 'cat:{tree}:children:*'), [])
  t.equal((await migrateKeys(redis, rules, migrations)).migrated['category children lists'], 0, 'idempotent')

  const app = await build(t, { config: { REDIS_URL: server.url } })
  const b = (await app.inject('/categories/2/')).json()
  t.same([b.parents, b.direct_children, b.siblings], [[{ id: 1, name: 'A' }], [{ id: 3, name: 'C' }], [{ id: 4, name: 'D' }]])
  const authorization = `Bearer ${(await app.auth.signJwt({ username: 'player', admin: false })).jwt}`
  const res = await app.inject({ method: 'POST', url: '/categories/', headers: { authorization }, payload: { name: 'E', parent_id: 1 } })
  t.same(res.json(), { id: 5, count: 1 })
  const a = (await app.inject('/categories/1/')).json()
  t.same(a.children.map((c: { id: number }) => c.id), [2, 3, 4, 5])
  t.same(a.direct_children.map((c: { id: number }) => c.id), [2, 4, 5])
})

t.test('ads counters and users written in the old layout are moved by the one command', async (t) => {
  const server = await privateRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  await redis.hset('ads:user:Jack', 'ad_requests', '3', 'impressions', '2')
  await redis.hset('ads:sdk:1.0', 'ad_requests', '3')
  const record = JSON.stringify({ id: 1, user_name: 'ann', email: 'ann@example.com' })
  await redis.set('users:u:ann@example.com', record)
  await redis.zadd('users:index', 0, 'ann@example.com')
  const { rules, migrations } = allRules()
  const report = await migrateKeys(redis, rules, migrations)
  t.same(report.conflicts, [])
  t.same(await redis.hgetall('ads:{u:Jack}'), { ad_requests: '3', impressions: '2' })
  t.same(await redis.hgetall('ads:{sdk:1.0}'), { ad_requests: '3' })
  t.ok(report.migrated.users! >= 1, `users moved (${report.migrated.users})`)
  t.equal(await redis.exists('users:index'), 0, 'the old global index is gone')
  const again = await migrateKeys(redis, rules, migrations)
  t.same([again.renamed, again.migrated.users], [0, 0], 'a second run changes nothing')
})
