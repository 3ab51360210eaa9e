import { createServer } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import healthPlugin from '../../src/plugins/infra/health.js'
import cassandra from 'cassandra-driver'
import cassandraPlugin, {
  compactionFor, consistencyOf, contactPort, maxProtocolFor, parseContactPoints, type CassandraPluginOptions
} from '../../src/plugins/infra/cassandra.js'
import { cassandraFor, cassandraSkipReason, keyspaceName, readFixtureState, type CassandraEnv } from '../helpers/cassandra.js'

type Test = import('tap').Test

// Only the tests that need the server skip when the run has none (java missing); the rest always run.
const skip = await cassandraSkipReason()
const state = await readFixtureState()
// The fixture's own server is 2.1.0; CASSANDRA_CONTACT_POINTS may point anywhere.
const fixtureServer = !('skip' in state) && state.pid !== undefined

async function env (t: Test): Promise<CassandraEnv> {
  const e = await cassandraFor(t)
  if (!e) throw new Error('no Cassandra although the test was not skipped')
  return e
}

async function buildApp (t: Test, env: Record<string, string>, opts: Partial<CassandraPluginOptions> = {}) {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env })
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(healthPlugin, { intervalMs: 100 })
  await app.register(cassandraPlugin, { config, ...opts })
  await app.ready()
  return app
}

async function unusedPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

t.test('keyspaceName gives each test file and process a distinct CQL identifier of at most 48 characters', async (t) => {
  t.equal(keyspaceName('/repo/test/infra/cassandra.test.ts', 4321), 't_cassandra_4321')
  t.equal(keyspaceName('/repo/test/infra/cassandra.test.ts', 4321, 2), 't_cassandra_4321_2')
  t.equal(keyspaceName('/x/Sessions-Store.spec.mjs', 7), 't_sessions_store_7')
  t.equal(keyspaceName('/repo/test/---.test.ts', 7), 't_test_7')
  const long = keyspaceName(`/repo/test/${'a'.repeat(60)}.test.ts`, 4194304, 12)
  t.equal(long, `t_${'a'.repeat(35)}_4194304_12`)
  t.equal(long.length, 48)
  t.match(long, /^[a-z][a-z0-9_]{0,47}$/)
})

t.test('compactionFor picks the time-series strategy the server version supports', async (t) => {
  const stcs = "{'class': 'SizeTieredCompactionStrategy'}"
  const dtcs = "{'class': 'DateTieredCompactionStrategy'}"
  const twcs = "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}"
  const expected: Array<[string, string]> = [
    ['2.1.0', stcs], ['2.1.1', dtcs], ['2.1.22', dtcs], ['2.2.19', dtcs], ['3.0.7', dtcs], ['3.0.8', twcs],
    ['3.7', dtcs], ['3.11.16', twcs], ['4.0.11', twcs], ['4.1.3', twcs], ['5.0.2', twcs], ['5.0-beta1', twcs]
  ]
  for (const [version, compaction] of expected) t.equal(compactionFor(version, 'time-series'), compaction, version)
  t.equal(compactionFor('5.0.2', 'default'), stcs)
})

t.test('parseContactPoints keeps host:port entries and drops blanks', async (t) => {
  t.same(parseContactPoints('10.0.0.1:9043, cass-2 ,,cass-3:9042'), ['10.0.0.1:9043', 'cass-2', 'cass-3:9042'])
})

t.test('contactPort takes the first port the contact points name, for the nodes the driver discovers', async (t) => {
  t.equal(contactPort(['cass-1', '127.0.0.2:9043', '127.0.0.3:9044']), 9043)
  t.equal(contactPort(['[::1]:9045', 'cass-2']), 9045)
  t.equal(contactPort(['cass-1', 'cass-2']), undefined)
  t.equal(contactPort(['::1']), undefined)
})

t.test('maxProtocolFor caps the protocol only for servers that refuse the driver\'s first offer', async (t) => {
  const expected: Array<[string, number | undefined]> = [
    ['2.0.17', 2], ['2.1.0', 3], ['2.1.22', 3], ['2.2.19', undefined], ['3.11.16', undefined], ['5.0.2', undefined]
  ]
  for (const [version, max] of expected) t.equal(maxProtocolFor(version), max, version)
})

t.test('consistencyOf maps CASSANDRA_CONSISTENCY names to the driver\'s levels', async (t) => {
  const { consistencies } = cassandra.types
  t.equal(consistencyOf('LOCAL_ONE'), consistencies.localOne)
  t.equal(consistencyOf('QUORUM'), consistencies.quorum)
  t.equal(consistencyOf('LOCAL_QUORUM'), consistencies.localQuorum)
  t.equal(consistencyOf('ALL'), consistencies.all)
})

t.test('a contact point nothing listens on fails the boot with a message naming it', async (t) => {
  const port = await unusedPort()
  const started = Date.now()
  await t.rejects(buildApp(t, { CASSANDRA_CONTACT_POINTS: `127.0.0.1:${port}` }, { connectTimeoutMs: 1000 }), {
    message: new RegExp(`^cannot reach Cassandra at 127\\.0\\.0\\.1:${port} \\(local data center datacenter1\\): .*${port}`)
  })
  t.ok(Date.now() - started < 5000, 'fails within seconds')
})

t.test('the plugin connects, creates the keyspace with the configured replication and reads the server version',
  { skip }, async (t) => {
    const e = await env(t)
    const app = await buildApp(t, { ...e })
    const cass = app.cassandra!
    t.equal(cass.keyspace, e.CASSANDRA_KEYSPACE)
    t.equal(cass.client.keyspace, e.CASSANDRA_KEYSPACE)
    await cass.client.metadata.refreshKeyspace(e.CASSANDRA_KEYSPACE)
    // strategyOptions is there at runtime, though the driver's types leave it out
    type KeyspaceMeta = { strategy: string, strategyOptions?: unknown } | undefined
    const ks = cass.client.metadata.keyspaces[e.CASSANDRA_KEYSPACE] as KeyspaceMeta
    t.equal(ks?.strategy, 'org.apache.cassandra.locator.SimpleStrategy')
    t.same(ks?.strategyOptions, { replication_factor: '1' })
    if (fixtureServer) {
      t.equal(cass.releaseVersion, '2.1.0')
      t.equal(cass.majorVersion, 2)
    } else {
      t.match(cass.releaseVersion, /^\d+\.\d+/)
      t.equal(cass.majorVersion, Number(cass.releaseVersion.split('.')[0]))
    }
  })

t.test('migrations run twice, and by two processes at once, are applied once', { skip }, async (t) => {
  const e = await env(t)
  const [a, b] = [await buildApp(t, { ...e }), await buildApp(t, { ...e })]
  // The counter update is not idempotent: any second application would show as n = 2.
  const migrations = [
    { version: 1, statements: ['CREATE TABLE IF NOT EXISTS migration_runs (id text PRIMARY KEY, n counter)'] },
    { version: 2, statements: ["UPDATE migration_runs SET n = n + 1 WHERE id = 'v2'"] }
  ]
  await Promise.all([a.cassandra!.migrate('demo', migrations), b.cassandra!.migrate('demo', migrations)])
  await a.cassandra!.migrate('demo', migrations)
  await b.cassandra!.migrate('demo', [...migrations].reverse())

  const client = a.cassandra!.client
  const rows = (await client.execute('SELECT domain, version, applied_at FROM schema_migrations WHERE domain = ?', ['demo'])).rows
  t.same(rows.map(r => [r.domain, r.version]), [['demo', 1], ['demo', 2]])
  t.ok(rows.every(r => r.applied_at instanceof Date), 'applied_at recorded')
  const runs = await client.execute("SELECT n FROM migration_runs WHERE id = 'v2'")
  t.equal(runs.first()?.n.toString(), '1')
  const locks = await client.execute('SELECT domain FROM schema_migration_locks')
  t.equal(locks.rowLength, 0, 'the migration lease is released')

  // a later version is applied on the next start, earlier ones are left alone
  const v3 = { version: 3, statements: ["UPDATE migration_runs SET n = n + 1 WHERE id = 'v3'"] }
  await a.cassandra!.migrate('demo', [...migrations, v3])
  const versions = (await client.execute('SELECT version FROM schema_migrations WHERE domain = ?', ['demo'])).rows
  t.same(versions.map(r => r.version), [1, 2, 3])
  t.equal((await client.execute("SELECT n FROM migration_runs WHERE id = 'v2'")).first()?.n.toString(), '1')
})

t.test('migrate rejects duplicate or non-positive versions before touching the schema', { skip }, async (t) => {
  const app = await buildApp(t, { ...await env(t) })
  await t.rejects(app.cassandra!.migrate('demo', [{ version: 1, statements: [] }, { version: 1, statements: [] }]), {
    message: 'migrations of demo: versions must be distinct positive integers (got 1, 1)'
  })
  await t.rejects(app.cassandra!.migrate('demo', [{ version: 0, statements: [] }]), {
    message: 'migrations of demo: versions must be distinct positive integers (got 0)'
  })
})

t.test('the time-series compaction matches the running server and the server accepts it', { skip }, async (t) => {
  const app = await buildApp(t, { ...await env(t) })
  const cass = app.cassandra!
  const compaction = cass.compaction('time-series')
  t.equal(compaction, compactionFor(cass.releaseVersion, 'time-series'))
  // 2.1.0 predates DateTiered (2.1.1): it gets SizeTiered
  if (fixtureServer) t.equal(compaction, "{'class': 'SizeTieredCompactionStrategy'}")
  await cass.client.execute(`CREATE TABLE IF NOT EXISTS events (player text, at timestamp, kind text,
    PRIMARY KEY (player, at)) WITH compaction = ${compaction}`)
  const table = await cass.client.metadata.getTable(cass.keyspace, 'events')
  const expectedClass = /'class': '(\w+)'/.exec(compaction)?.[1] ?? ''
  t.match(table?.compactionClass, new RegExp(`(^|\\.)${expectedClass}$`))
})

t.test('CASSANDRA_CONSISTENCY is the level of reads and writes: TWO on one node is unavailable, LOCAL_ONE answers',
  { skip }, async (t) => {
    const e = await env(t)
    const strict = await buildApp(t, { ...e, CASSANDRA_CONSISTENCY: 'TWO' })
    const read = 'SELECT version FROM schema_migrations WHERE domain = ?'
    // the driver's retry policy tries the next host once, so the server's answer arrives inside NoHostAvailable
    await t.rejects(strict.cassandra!.client.execute(read, ['none'], { prepare: true }),
      { message: /Not enough replicas available for query at consistency TWO/ })
    t.same((await strict.health.check()).checks, { cassandra: 'up' }, 'the probe reads node-local system.local')
    const loose = await buildApp(t, { ...e })
    t.equal((await loose.cassandra!.client.execute(read, ['none'], { prepare: true })).rowLength, 0)
  })

t.test('the health probe reports Cassandra up', { skip }, async (t) => {
  const app = await buildApp(t, { ...await env(t) })
  const report = await app.health.check()
  t.same(report, { ready: true, shuttingDown: false, checks: { cassandra: 'up' } })
})

t.test('app.close() shuts the client down', { skip }, async (t) => {
  const app = await buildApp(t, { ...await env(t) })
  const client = app.cassandra!.client
  t.equal(client.getState().getConnectedHosts().length, 1)
  await app.close()
  t.equal(client.getState().getConnectedHosts().length, 0)
  await t.rejects(client.execute('SELECT release_version FROM system.local'), {
    message: 'Connecting after shutdown is not supported'
  })
})
