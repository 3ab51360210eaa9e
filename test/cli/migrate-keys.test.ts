import { createHash } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { allKeys, build, privateRedis } from '../helper.js'
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
  t.same(await app.auth.verifyPassword('oldie', 'oldie-password'), { username: 'oldie', admin: false })
  t.equal(await app.auth.verifyToken('abcdef0123'), 'oldie')
  t.equal(await app.auth.revokeAllTokens('oldie'), 1)
  t.equal(await app.auth.verifyToken('abcdef0123'), null)
})
