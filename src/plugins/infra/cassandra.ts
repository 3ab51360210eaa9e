import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import cassandra from 'cassandra-driver'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'

// The shared cassandra-driver client. Registered by src/app.ts only when CASSANDRA_CONTACT_POINTS is set, so the
// decorator is optional: domains check `app.cassandra` and fall back to their Redis store without it.
//
// All CQL here (and in the domains' migrations) has to run on Cassandra 2.1 (the test server) as well as 4.x/5.x:
// no SELECT JSON, GROUP BY, PER PARTITION LIMIT, date or smallint.

export interface Migration {
  version: number
  /** Each must be idempotent (`IF NOT EXISTS`): two processes starting together may both run it. */
  statements: string[]
}

export type CompactionKind = 'time-series' | 'default'

export interface Cassandra {
  client: cassandra.Client
  keyspace: string
  releaseVersion: string
  majorVersion: number
  /** Applies the domain's migrations not yet recorded in schema_migrations, in version order. */
  migrate (domain: string, migrations: Migration[]): Promise<void>
  /** A CQL compaction map for `WITH compaction = …`, chosen for the running server's version. */
  compaction (kind: CompactionKind): string
}

declare module 'fastify' {
  interface FastifyInstance {
    cassandra?: Cassandra
  }
}

export interface CassandraPluginOptions {
  config: Config
  /** Per-connection connect timeout; tests shorten it. */
  connectTimeoutMs?: number
  /** How long migrate() waits for another process's migration lease before giving up. */
  migrationLockTimeoutMs?: number
}

// Outlived by the default wait, so a starter whose predecessor died holding the lease waits it out instead of failing.
const MIGRATION_LEASE_SECONDS = 60

/** `host[:port]` list from config, as the driver takes it. */
export function parseContactPoints (raw: string): string[] {
  return raw.split(',').map(s => s.trim()).filter(Boolean)
}

function versionParts (releaseVersion: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = releaseVersion.split(/[.-]/).map(n => Number.parseInt(n, 10) || 0)
  return [major, minor, patch]
}

/**
 * TimeWindowCompactionStrategy where the server has it (3.0.8+, 3.8+, 4.x, 5.x); DateTieredCompactionStrategy
 * before that (2.0.11+, 2.1.1+, 2.2, 3.0.0–3.0.7, 3.1–3.7); SizeTiered on servers older still, such as 2.1.0,
 * which ship neither (DTCS arrived in 2.1.1).
 */
export function compactionFor (releaseVersion: string, kind: CompactionKind): string {
  const sizeTiered = "{'class': 'SizeTieredCompactionStrategy'}"
  if (kind === 'default') return sizeTiered
  const [major, minor, patch] = versionParts(releaseVersion)
  const twcs = major >= 4 || (major === 3 && (minor >= 8 || (minor === 0 && patch >= 8)))
  if (twcs) {
    return "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}"
  }
  const dtcs = major === 3 ||
    (major === 2 && (minor >= 2 || (minor === 1 && patch >= 1) || (minor === 0 && patch >= 11)))
  if (dtcs) return "{'class': 'DateTieredCompactionStrategy'}"
  return sizeTiered
}

// The driver's default reconnection policy backs off up to 10 minutes, so after an outage of a few minutes the app
// would keep answering 503 long after Cassandra is back. Retries every ≤ 2 s are cheap for the few nodes a client
// talks to, and the session endpoints recover within about that much of Cassandra's return.
export const RECONNECT_BASE_MS = 100
export const RECONNECT_MAX_MS = 2000

function clientOptions (config: Config, connectTimeoutMs: number, keyspace?: string): cassandra.ClientOptions {
  return {
    contactPoints: parseContactPoints(config.CASSANDRA_CONTACT_POINTS ?? ''),
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    ...(keyspace ? { keyspace } : {}),
    ...(config.CASSANDRA_USERNAME
      ? { authProvider: new cassandra.auth.PlainTextAuthProvider(config.CASSANDRA_USERNAME, config.CASSANDRA_PASSWORD ?? '') }
      : {}),
    socketOptions: { connectTimeout: connectTimeoutMs },
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        RECONNECT_BASE_MS, RECONNECT_MAX_MS, false)
    },
    queryOptions: { prepare: true }
  }
}

async function connect (options: cassandra.ClientOptions, where: string): Promise<cassandra.Client> {
  const client = new cassandra.Client(options)
  try {
    await client.connect()
    return client
  } catch (err) {
    await client.shutdown().catch(() => {})
    throw new Error(`cannot reach Cassandra at ${where}: ${(err as Error).message}`, { cause: err })
  }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

export function createMigrator ({ client, log, lockTimeoutMs }: {
  client: cassandra.Client
  log: FastifyBaseLogger
  lockTimeoutMs: number
}) {
  // Quorum on both sides, so the next lease holder on a multi-node cluster sees what the previous one recorded.
  const quorum = { consistency: cassandra.types.consistencies.localQuorum }

  async function applied (domain: string): Promise<Set<number>> {
    const rs = await client.execute('SELECT version FROM schema_migrations WHERE domain = ?', [domain], quorum)
    return new Set(rs.rows.map(r => r.version as number))
  }

  // A lightweight-transaction lease per domain serialises concurrent starters, so their schema changes do not race
  // (concurrent CREATE TABLE on a multi-node cluster can leave disagreeing table ids). The TTL frees the lease of
  // a process that died holding it.
  async function withLease<T> (domain: string, fn: () => Promise<T>): Promise<T> {
    const owner = randomUUID()
    const until = Date.now() + lockTimeoutMs
    for (;;) {
      const rs = await client.execute(
        `INSERT INTO schema_migration_locks (domain, owner) VALUES (?, ?) IF NOT EXISTS USING TTL ${MIGRATION_LEASE_SECONDS}`,
        [domain, owner])
      if (rs.wasApplied()) break
      if (Date.now() > until) {
        throw new Error(`migrations of ${domain}: another process has held the migration lease for over ${lockTimeoutMs} ms`)
      }
      await sleep(250)
    }
    try {
      return await fn()
    } finally {
      await client.execute('DELETE FROM schema_migration_locks WHERE domain = ? IF owner = ?', [domain, owner])
        .catch((err: Error) => log.warn({ err: { message: err.message }, domain }, 'could not release the migration lease'))
    }
  }

  return async function migrate (domain: string, migrations: Migration[]): Promise<void> {
    const versions = migrations.map(m => m.version)
    if (versions.some(v => !Number.isInteger(v) || v < 1) || new Set(versions).size !== versions.length) {
      throw new Error(`migrations of ${domain}: versions must be distinct positive integers (got ${versions.join(', ')})`)
    }
    const pending = (done: Set<number>) =>
      migrations.filter(m => !done.has(m.version)).sort((a, b) => a.version - b.version)
    // The common case (every version already applied) costs one read and no lease.
    if (pending(await applied(domain)).length === 0) return
    await withLease(domain, async () => {
      for (const m of pending(await applied(domain))) {
        for (const statement of m.statements) await client.execute(statement, [], { prepare: false })
        // Recorded only after every statement succeeded: a crash in between re-runs the (idempotent) statements.
        await client.execute('INSERT INTO schema_migrations (domain, version, applied_at) VALUES (?, ?, ?)',
          [domain, m.version, new Date()], quorum)
        log.info({ domain, version: m.version }, 'cassandra migration applied')
      }
    })
  }
}

export default fp(async function cassandraPlugin (app, opts: CassandraPluginOptions) {
  const { config } = opts
  const log = app.log.child({ component: 'cassandra' })
  if (!config.CASSANDRA_CONTACT_POINTS) throw new Error('the cassandra plugin needs CASSANDRA_CONTACT_POINTS')
  const where = `${config.CASSANDRA_CONTACT_POINTS} (local data center ${config.CASSANDRA_LOCAL_DC})`
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000
  const keyspace = config.CASSANDRA_KEYSPACE

  // The driver refuses a keyspace that does not exist yet, so the first connection has none: it creates the
  // keyspace, then the lasting client connects straight into it.
  const bootstrap = await connect(clientOptions(config, connectTimeoutMs), where)
  try {
    await bootstrap.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${config.CASSANDRA_REPLICATION}`,
      [], { prepare: false })
  } catch (err) {
    throw new Error(`cannot create Cassandra keyspace ${keyspace} at ${where}: ${(err as Error).message}`, { cause: err })
  } finally {
    await bootstrap.shutdown()
  }

  const client = await connect(clientOptions(config, connectTimeoutMs, keyspace), where)
  let releaseVersion: string
  try {
    const rs = await client.execute('SELECT release_version FROM system.local')
    releaseVersion = String(rs.first()?.release_version ?? '0')
    await client.execute(`CREATE TABLE IF NOT EXISTS schema_migrations (
      domain text, version int, applied_at timestamp, PRIMARY KEY (domain, version))`, [], { prepare: false })
    await client.execute(`CREATE TABLE IF NOT EXISTS schema_migration_locks (
      domain text PRIMARY KEY, owner uuid)`, [], { prepare: false })
  } catch (err) {
    await client.shutdown().catch(() => {})
    throw new Error(`cannot prepare Cassandra keyspace ${keyspace} at ${where}: ${(err as Error).message}`, { cause: err })
  }
  const majorVersion = versionParts(releaseVersion)[0]
  log.info({ contactPoints: config.CASSANDRA_CONTACT_POINTS, keyspace, releaseVersion }, 'cassandra connected')

  const migrate = createMigrator({ client, log, lockTimeoutMs: opts.migrationLockTimeoutMs ?? 90_000 })
  const decorator: Cassandra = {
    client,
    keyspace,
    releaseVersion,
    majorVersion,
    migrate,
    compaction: (kind) => compactionFor(releaseVersion, kind)
  }
  app.decorate('cassandra', decorator)
  app.health.addProbe('cassandra', () => client.execute('SELECT release_version FROM system.local'))

  // Client.shutdown() only shuts down the hosts it still lists, and not at all once it thinks it is disconnected;
  // a host dropped and re-added around an outage kept its health timer and reconnection attempts alive, and the
  // process with it. Every host ever seen is shut down as well (Host.shutdown is idempotent).
  type ShutdownHost = { shutdown (waitForPending: boolean): Promise<void> }
  const hosts = new Set<ShutdownHost>(client.hosts.values() as unknown as ShutdownHost[])
  client.on('hostAdd', (host: ShutdownHost) => hosts.add(host))

  app.addHook('onClose', async () => {
    await client.shutdown()
    await Promise.all([...hosts].map(h => h.shutdown(false).catch(() => {})))
    log.info('cassandra client shut down')
  })
}, { name: 'cassandra', dependencies: ['health'] })
