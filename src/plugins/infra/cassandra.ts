import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import cassandra from 'cassandra-driver'
import type { FastifyBaseLogger } from 'fastify'
import type { CassandraConsistency, Config } from '../../config.js'

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

/**
 * The native port the contact points name (the first one that names one), for the nodes the driver discovers:
 * Cassandra before 4.0 does not publish its peers' client port, so without this the driver dials 9042 on every
 * node it was not given, and with the contact points gone every request fails although the rest of the cluster is up.
 */
export function contactPort (points: string[]): number | undefined {
  for (const point of points) {
    const port = /^(?:\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(point)?.[1]
    if (port) return Number(port)
  }
  return undefined
}

const { consistencies } = cassandra.types
const CONSISTENCY: Record<CassandraConsistency, cassandra.types.consistencies> = {
  ONE: consistencies.one,
  TWO: consistencies.two,
  THREE: consistencies.three,
  QUORUM: consistencies.quorum,
  ALL: consistencies.all,
  LOCAL_ONE: consistencies.localOne,
  LOCAL_QUORUM: consistencies.localQuorum
}

export function consistencyOf (name: CassandraConsistency): cassandra.types.consistencies {
  return CONSISTENCY[name]
}

/**
 * The newest native protocol a server speaks, where the driver's first offer would be refused: 2.1 knows v3 at most,
 * 2.0 v2. The driver would step down by itself, but only after a failed handshake per connection and an error log.
 */
export function maxProtocolFor (releaseVersion: string): number | undefined {
  const [major, minor] = versionParts(releaseVersion)
  if (major > 2 || (major === 2 && minor >= 2)) return undefined
  if (major === 2) return minor === 1 ? 3 : 2
  return 1
}

// Schema statements on a cluster return before every node has applied them (and the driver's own wait gives up
// after 10 s): the next prepare on a node that has not would fail. Bounded: a node that is down keeps its old
// version in system.peers, and a start during such an outage goes on rather than failing.
const SCHEMA_AGREEMENT_MS = 30_000

export async function awaitSchemaAgreement (client: cassandra.Client, log: FastifyBaseLogger,
  timeoutMs = SCHEMA_AGREEMENT_MS): Promise<boolean> {
  // A public method of the driver that its type declarations leave out.
  const metadata = client.metadata as unknown as { checkSchemaAgreement (): Promise<boolean> }
  const until = Date.now() + timeoutMs
  for (;;) {
    if (await metadata.checkSchemaAgreement()) return true
    if (Date.now() > until) {
      log.warn({ timeoutMs }, 'cassandra nodes still disagree on the schema; going on (is a node down?)')
      return false
    }
    await sleep(200)
  }
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

/**
 * The driver's retry policy, plus one more try on the next node when an idempotent statement times out on the
 * server. In the seconds before the cluster notices a node died, a coordinator that still counts on it times out
 * (a quorum read whose replicas disagree waits for every replica it asked, the dead one included); another
 * coordinator usually answers at once. The driver consults onWriteTimeout for idempotent statements only.
 */
export class RetryElsewherePolicy extends cassandra.policies.retry.RetryPolicy {
  override onReadTimeout (info: cassandra.policies.retry.OperationInfo, consistency: cassandra.types.consistencies,
    received: number, blockFor: number, isDataPresent: boolean) {
    // at the statement's own level: `consistency` is the server's, ALL when a read repair timed out
    const own = info.executionOptions.getConsistency()
    if (info.nbRetry === 0 && info.executionOptions.isIdempotent()) return this.retryResult(own, false)
    return super.onReadTimeout(info, consistency, received, blockFor, isDataPresent)
  }

  override onWriteTimeout (info: cassandra.policies.retry.OperationInfo) {
    return info.nbRetry === 0 ? this.retryResult(info.executionOptions.getConsistency(), false) : this.rethrowResult()
  }
}

// Schema changes wait for every node; they may take far longer than a query.
const DDL_OPTIONS = { prepare: false, readTimeout: 120_000 }

function clientOptions (config: Config, connectTimeoutMs: number, keyspace?: string, maxVersion?: number):
cassandra.ClientOptions {
  const contactPoints = parseContactPoints(config.CASSANDRA_CONTACT_POINTS ?? '')
  const port = contactPort(contactPoints)
  return {
    contactPoints,
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    ...(keyspace ? { keyspace } : {}),
    ...(config.CASSANDRA_USERNAME
      ? { authProvider: new cassandra.auth.PlainTextAuthProvider(config.CASSANDRA_USERNAME, config.CASSANDRA_PASSWORD ?? '') }
      : {}),
    // Every request has a read timeout: a node that stops answering fails the caller (503 / UNAVAILABLE) instead
    // of hanging it. Schema changes pass their own, longer one (DDL_OPTIONS).
    socketOptions: { connectTimeout: connectTimeoutMs, readTimeout: config.CASSANDRA_READ_TIMEOUT_MS },
    protocolOptions: { ...(port ? { port } : {}), ...(maxVersion ? { maxVersion } : {}) },
    policies: {
      retry: new RetryElsewherePolicy(),
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        RECONNECT_BASE_MS, RECONNECT_MAX_MS, false)
    },
    // Statements are not idempotent unless marked (isIdempotent): only marked ones are retried on another node
    // after a timeout or a lost connection.
    queryOptions: { prepare: true, consistency: consistencyOf(config.CASSANDRA_CONSISTENCY) }
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

// system.local lives on each node alone (replication 1): a configured TWO or THREE would make it unavailable.
const nodeLocal = { consistency: cassandra.types.consistencies.one, isIdempotent: true }

export function createMigrator ({ client, log, lockTimeoutMs }: {
  client: cassandra.Client
  log: FastifyBaseLogger
  lockTimeoutMs: number
}) {
  // Quorum on both sides, so the next lease holder on a multi-node cluster sees what the previous one recorded.
  const quorum = { consistency: cassandra.types.consistencies.localQuorum, isIdempotent: true }

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
        for (const statement of m.statements) await client.execute(statement, [], DDL_OPTIONS)
        // Recorded only after every statement succeeded: a crash in between re-runs the (idempotent) statements.
        await client.execute('INSERT INTO schema_migrations (domain, version, applied_at) VALUES (?, ?, ?)',
          [domain, m.version, new Date()], quorum)
        log.info({ domain, version: m.version }, 'cassandra migration applied')
      }
      // Once for all the statements, before the domain prepares its queries against the new tables.
      await awaitSchemaAgreement(client, log)
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
  // keyspace and the migration tables, waits once until every node has them, and the lasting client connects
  // straight into the keyspace (on a node that lacked it, its pool would fail).
  const bootstrap = await connect(clientOptions(config, connectTimeoutMs), where)
  let releaseVersion: string
  try {
    const rs = await bootstrap.execute('SELECT release_version FROM system.local', [], nodeLocal)
    releaseVersion = String(rs.first()?.release_version ?? '0')
    await bootstrap.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${config.CASSANDRA_REPLICATION}`,
      [], DDL_OPTIONS)
  } catch (err) {
    await bootstrap.shutdown().catch(() => {})
    throw new Error(`cannot create Cassandra keyspace ${keyspace} at ${where}: ${(err as Error).message}`, { cause: err })
  }
  try {
    await bootstrap.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (
      domain text, version int, applied_at timestamp, PRIMARY KEY (domain, version))`, [], DDL_OPTIONS)
    await bootstrap.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migration_locks (
      domain text PRIMARY KEY, owner uuid)`, [], DDL_OPTIONS)
    await awaitSchemaAgreement(bootstrap, log)
  } catch (err) {
    throw new Error(`cannot prepare Cassandra keyspace ${keyspace} at ${where}: ${(err as Error).message}`, { cause: err })
  } finally {
    await bootstrap.shutdown()
  }

  const client = await connect(clientOptions(config, connectTimeoutMs, keyspace, maxProtocolFor(releaseVersion)), where)
  const majorVersion = versionParts(releaseVersion)[0]
  const { CASSANDRA_CONTACT_POINTS: contactPoints, CASSANDRA_CONSISTENCY: consistency } = config
  log.info({ contactPoints, keyspace, releaseVersion, consistency }, 'cassandra connected')

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
  app.health.addProbe('cassandra', () => client.execute('SELECT release_version FROM system.local', [], nodeLocal))

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
