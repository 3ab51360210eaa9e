import type { FastifyInstance } from 'fastify'
import type { Job } from 'bullmq'
import {
  USERS_DOMAIN, USERS_EXPORT_QUEUE, type UsersExportJob, type UsersExportResult
} from '../plugins/users/queues.js'
import { usersLock } from './users-ingest.js'

// Consumer of users:q:export (produced by the users service, queue in src/plugins/users/queues.ts): writes every
// stored user to USERS_EXPORT_PATH.

export function usersExportProcessor (deps: { exportAll (id: string): Promise<UsersExportResult> }) {
  return async (job: Job<UsersExportJob, UsersExportResult>): Promise<UsersExportResult> => {
    return await deps.exportAll(String(job.id))
  }
}

export function usersExportWorker (app: FastifyInstance) {
  // One export at a time per process; two exports running elsewhere each still write a complete file.
  return app.queues.worker(USERS_DOMAIN, USERS_EXPORT_QUEUE, usersExportProcessor(app.users),
    { ...usersLock(app.config), concurrency: 1 })
}
