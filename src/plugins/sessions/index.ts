import fp from 'fastify-plugin'
import { createSessions, type Sessions } from './service.js'
import { createRedisStore } from './redis-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: Sessions
  }
}

// Player sessions: Cassandra when the app has it (CASSANDRA_CONTACT_POINTS), else the Redis store; one contract.
export default fp(async function sessionsPlugin (app) {
  let store
  if (app.cassandra) {
    // Loaded only with Cassandra configured: the driver is a noticeable part of start-up time and memory.
    const { createCassandraStore, migrations } = await import('./cassandra-store.js')
    await app.cassandra.migrate('sessions', migrations(app.cassandra))
    store = createCassandraStore({ client: app.cassandra.client, redis: app.redis })
    app.log.info({ store: 'cassandra', keyspace: app.cassandra.keyspace }, 'sessions store ready')
  } else {
    store = createRedisStore({ redis: app.redis })
  }
  app.decorate('sessions', createSessions({ store, clock: app.clock, maxListed: app.config.SESSIONS_WINDOW_MAX_LISTED }))
}, { name: 'sessions', dependencies: ['redis'] })
