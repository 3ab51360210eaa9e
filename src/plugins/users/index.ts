import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { USERS_EXPORT_QUEUE, usersExportProcessor, type UsersExportJob, type UsersExportResult } from '../../jobs/users-export.js'
import { USERS_INGEST_QUEUE, usersIngestProcessor, type UsersIngestJob, type UsersIngestResult } from '../../jobs/users-ingest.js'
import { createUsersStore } from './redis-store.js'
import { createUsers, type UsersService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance { users: UsersService }
}

// The users domain in both roles: the server queues records and serves reads; workers (in-process by default,
// or `npm run worker` processes) store them and write the export.
export default fp(async function usersPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'users' })
  const ingestQueue = app.queues.queue<UsersIngestJob, UsersIngestResult>('users', USERS_INGEST_QUEUE, {
    defaultJobOptions: {
      attempts: config.USERS_JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: config.USERS_RETRY_BACKOFF_MS },
      removeOnComplete: { count: 1000 },
      // Failed jobs are the dead letters: kept until replayed (POST /admin/dead-letters/replay) or removed.
      removeOnFail: false
    }
  })
  const exportQueue = app.queues.queue<UsersExportJob, UsersExportResult>('users', USERS_EXPORT_QUEUE, {
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: config.USERS_RETRY_BACKOFF_MS },
      removeOnComplete: { age: 24 * 3600, count: 100 },
      removeOnFail: false
    }
  })
  const service = createUsers({ store: createUsersStore(app.redis), config, ingestQueue, exportQueue, log })
  app.decorate('users', service)

  // A worker that dies keeps its jobs locked for lockDuration; the stalled check then hands them to another
  // worker. A job that stalls again and again (it crashes its workers) ends in the dead letters.
  const lock = {
    lockDuration: config.USERS_LOCK_DURATION_MS,
    stalledInterval: config.USERS_LOCK_DURATION_MS,
    maxStalledCount: 3
  }
  app.queues.worker('users', USERS_INGEST_QUEUE, usersIngestProcessor(service), lock)
  // One export at a time per process; two exports running elsewhere each still write a complete file.
  app.queues.worker('users', USERS_EXPORT_QUEUE, usersExportProcessor(service), { ...lock, concurrency: 1 })
}, { name: 'users', dependencies: ['redis', 'queues'] })
