import type { Command } from 'commander'
import { loadConfig } from '../config.js'
import { Redis } from 'ioredis'
import { startRedisServer } from '../plugins/infra/redis-server.js'
import { legacyQueueKey } from '../plugins/infra/queues.js'
import { legacyKey as legacyAccountKey } from '../plugins/accounts/redis-store.js'
import { migrateLegacy as migrateCategories } from '../plugins/categories/redis-store.js'
import { migrateLegacy as migrateSessions } from '../plugins/sessions/redis-store.js'
import { legacyKey as legacyAdsKey } from '../plugins/ads/redis-store.js'
import { migrateLegacy as migrateUsers } from '../plugins/users/redis-store.js'

// `playfield migrate-keys`: one-shot move of data written by a playfield before the Redis Cluster key layout
// (hash-tagged keys) into the new layout, on the single Redis that holds it (REDIS_URL, or the embedded server's
// data directory). Run it once after upgrading, before starting the new version; it is idempotent, so running it
// again (or after a crash half-way) finishes the job and changes nothing more. To move to a Redis Cluster, migrate
// first, then import the single node into the cluster (`redis-cli --cluster import`).

/** A rename rule: the new name of an old key, or undefined when the key is not this rule's. */
export type LegacyKey = (key: string) => string | undefined
/** A migration that rewrites old data into the new layout itself (an index split into shards…); returns a count. */
export type LegacyMigration = { name: string, run (redis: Redis): Promise<number> }

export interface MigrationReport {
  scanned: number
  renamed: number
  conflicts: string[]
  migrated: Record<string, number>
}

export async function migrateKeys (redis: Redis, rules: LegacyKey[], migrations: LegacyMigration[],
  opts: { dryRun?: boolean } = {}): Promise<MigrationReport> {
  const report: MigrationReport = { scanned: 0, renamed: 0, conflicts: [], migrated: {} }
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      report.scanned++
      let target: string | undefined
      for (const rule of rules) if ((target = rule(key)) !== undefined) break
      if (target === undefined || target === key) continue
      if (opts.dryRun) {
        report.renamed++
        continue
      }
      // RENAMENX never overwrites data the new version already wrote under the new name.
      if (await redis.renamenx(key, target) === 1) report.renamed++
      else if (await redis.exists(key)) report.conflicts.push(`${key} → ${target}`)
    }
  } while (cursor !== '0')
  if (!opts.dryRun) {
    for (const m of migrations) report.migrated[m.name] = await m.run(redis)
  }
  return report
}

/** Every domain's rules and migrations, in one list. */
export function allRules (): { rules: LegacyKey[], migrations: LegacyMigration[] } {
  return {
    rules: [legacyQueueKey, legacyAccountKey, legacyAdsKey],
    migrations: [
      { name: 'category children lists', run: migrateCategories },
      { name: 'sessions', run: (redis) => migrateSessions(redis) },
      { name: 'users', run: migrateUsers }
    ]
  }
}

export function registerMigrateKeysCommand (program: Command): void {
  program.command('migrate-keys')
    .description('move data of an older playfield into the Redis Cluster key layout (REDIS_URL, or the embedded data dir)')
    .option('--dry-run', 'count what would move, change nothing', false)
    .action(async (o: { dryRun: boolean }) => {
      // The server's settings without loading the server (a command that starts in a moment, not in seconds).
      const config = loadConfig()
      if (config.REDIS_CLUSTER_NODES) {
        throw new Error('migrate-keys runs on the single Redis that holds the old data (REDIS_URL or the embedded ' +
          'data dir), not on a cluster: migrate it first, then import it into the cluster with redis-cli --cluster import')
      }
      let url = config.REDIS_URL
      const embedded = url
        ? undefined
        : await startRedisServer({ bin: config.REDIS_SERVER_BIN, dir: config.REDIS_DATA_DIR, aof: true, lock: true })
      url ??= embedded!.url
      const redis = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true, retryStrategy: () => null })
      redis.on('error', () => {}) // an unreachable Redis is the one line below, not an ioredis event dump
      try {
        await redis.connect().catch((err: Error) => { throw new Error(`cannot reach Redis (REDIS_URL): ${err.message}`) })
        const { rules, migrations } = allRules()
        const report = await migrateKeys(redis, rules, migrations, { dryRun: o.dryRun })
        const migrated = Object.entries(report.migrated).map(([k, n]) => `, ${k}: ${n}`).join('')
        process.stdout.write(`${o.dryRun ? 'would rename' : 'renamed'} ${report.renamed} of ${report.scanned} keys${migrated}\n`)
        for (const c of report.conflicts) process.stdout.write(`not renamed (new name already exists): ${c}\n`)
        if (report.conflicts.length > 0) process.exitCode = 1
      } finally {
        redis.disconnect()
        await embedded?.stop()
      }
    })
}
