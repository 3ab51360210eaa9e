import type { Config } from '../../config.js'
import type { QueueRegistry } from '../infra/queues.js'
import type { UserRecord } from './records.js'
import type { UpsertCounts } from './redis-store.js'

// The jobs the users domain produces: its queues, their payloads and job options. The service adds the jobs;
// their consumers are src/jobs/users-ingest.ts and src/jobs/users-export.ts (in-process workers by default, or
// `npm run worker` processes).

export const USERS_DOMAIN = 'users'

/** `users:q:ingest`: one job per batch of validated records (USERS_BATCH_SIZE, 500 by default). */
export const USERS_INGEST_QUEUE = 'ingest'

export interface UsersIngestJob {
  records: UserRecord[]
}

export interface UsersIngestResult extends UpsertCounts {
  /** Records of the payload that failed validation here (only possible for payloads not made by the service). */
  invalid: number
}

/**
 * `users:q:export`: writes every stored user to USERS_EXPORT_PATH. Added on demand (POST /users/export,
 * `playfield users export`) and, debounced, after ingest jobs finish.
 */
export const USERS_EXPORT_QUEUE = 'export'
/** Deduplication id of the debounced export: at most one of them is pending, and each ingest pushes it back. */
export const DEBOUNCED_EXPORT_ID = 'users-export-debounced'

export interface UsersExportJob {
  reason: 'requested' | 'debounced'
  requested_by?: string
}

export interface UsersExportResult {
  path: string
  count: number
  bytes: number
  duration_ms: number
}

export function usersQueues (queues: QueueRegistry, config: Config) {
  const ingestQueue = queues.queue<UsersIngestJob, UsersIngestResult>(USERS_DOMAIN, USERS_INGEST_QUEUE, {
    defaultJobOptions: {
      attempts: config.USERS_JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: config.USERS_RETRY_BACKOFF_MS },
      removeOnComplete: { count: 1000 },
      // Failed jobs are the dead letters: kept until replayed (POST /admin/dead-letters/replay) or removed.
      removeOnFail: false
    }
  })
  const exportQueue = queues.queue<UsersExportJob, UsersExportResult>(USERS_DOMAIN, USERS_EXPORT_QUEUE, {
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: config.USERS_RETRY_BACKOFF_MS },
      removeOnComplete: { age: 24 * 3600, count: 100 },
      removeOnFail: false
    }
  })
  return { ingestQueue, exportQueue }
}
