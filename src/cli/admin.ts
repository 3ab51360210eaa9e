import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import { loadConfig } from '../config.js'
import { Cluster, Redis } from 'ioredis'
import { systemClock } from '../clock.js'
import { clusterNodes } from '../plugins/infra/redis.js'
import { startRedisServer } from '../plugins/infra/redis-server.js'
import type { RedisClient } from '../plugins/infra/lua.js'
import { createAccountsStore } from '../plugins/accounts/redis-store.js'
import { createAccounts, hashPassword } from '../plugins/accounts/service.js'

// `playfield admin reset-password`: the way back in when the admin password is lost. It writes the account straight
// into the storage the server uses (the server's own env: REDIS_URL, REDIS_CLUSTER_NODES, or the embedded data dir),
// so it needs no credentials, only access to that storage, as the server's operator has. With the embedded default
// the server must be stopped first (the data directory lock says so); with your own Redis it works while servers run.

export function registerAdminCommands (program: Command): void {
  const admin = program.command('admin').description('operator commands that work on the server\'s storage directly')
  admin.command('reset-password')
    .description('set a new password for the admin account (creating it if missing), using the server\'s env ' +
      '(REDIS_URL / REDIS_CLUSTER_NODES / the embedded data dir); prints a generated password unless one is given')
    .option('--username <name>', 'admin account name (default: ADMIN_USER, else admin)')
    .option('--new-password <password>', 'the new password, 8-256 characters (env PLAYFIELD_NEW_PASSWORD); ' +
      'default: a generated one, printed once', process.env.PLAYFIELD_NEW_PASSWORD)
    .action(async (o: { username?: string, newPassword?: string }) => {
      // The server's settings without loading the server (a command that starts in a moment, not in seconds).
      const config = loadConfig()
      const username = o.username ?? config.ADMIN_USER ?? 'admin'
      const password = o.newPassword ?? randomBytes(12).toString('base64url')
      const embedded = config.REDIS_URL || config.REDIS_CLUSTER_NODES
        ? undefined
        : await startRedisServer({ bin: config.REDIS_SERVER_BIN, dir: config.REDIS_DATA_DIR, aof: true, lock: true })
      // One-shot: no reconnecting forever, and an unreachable Redis is one line, not an ioredis event dump.
      const options = { maxRetriesPerRequest: 2, connectTimeout: 5000, lazyConnect: true, retryStrategy: () => null }
      const redis: RedisClient = config.REDIS_CLUSTER_NODES
        ? new Cluster(clusterNodes(config.REDIS_CLUSTER_NODES), {
          lazyConnect: true,
          redisOptions: {
            ...options,
            username: config.REDIS_USERNAME,
            password: config.REDIS_PASSWORD,
            ...(config.REDIS_TLS ? { tls: {} } : {})
          }
        })
        : new Redis(embedded?.url ?? config.REDIS_URL!, options)
      redis.on('error', () => {})
      try {
        await redis.connect().catch((err: Error) => {
          throw new Error(`cannot reach Redis (${config.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'}): ${err.message}`)
        })
        const accounts = createAccounts({
          store: createAccountsStore(redis),
          config,
          clock: systemClock,
          dummyHash: await hashPassword(randomBytes(12).toString('hex'))
        })
        const existed = await accounts.accountExists(username)
        // The old password's tokens go with it (whoever had it may have issued some).
        const revoked = await accounts.createAccount(username, password, { admin: true, upsert: true })
        process.stdout.write(`${existed ? 'reset the password of' : 'created'} admin account ${username}` +
          `${revoked > 0 ? ` (revoked ${revoked} gRPC token${revoked === 1 ? '' : 's'})` : ''}\n`)
        if (!o.newPassword) process.stdout.write(`new password (shown once): ${password}\n`)
      } finally {
        redis.disconnect()
        await embedded?.stop()
      }
    })
}
