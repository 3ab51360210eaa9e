import { UnrecoverableError, type Job } from 'bullmq'
import type { UserRecord } from '../plugins/users/records.js'
import type { UpsertCounts } from '../plugins/users/redis-store.js'

// Queue `users:q:ingest`: one job per batch of validated records (USERS_BATCH_SIZE, 500 by default).
// At-least-once: a job may run twice (a worker dies after the upsert, before the ack); the upsert is
// idempotent, so the second run finds every record unchanged.

export const USERS_INGEST_QUEUE = 'ingest'

export interface UsersIngestJob {
  records: UserRecord[]
}

export interface UsersIngestResult extends UpsertCounts {
  /** Records of the payload that failed validation here (only possible for payloads not made by the service). */
  invalid: number
}

export interface IngestDeps {
  upsertRecords (records: unknown[]): Promise<UsersIngestResult>
  /** Called after a batch is stored: (re)arms the debounced export. */
  ingestSettled (): Promise<void>
}

export function usersIngestProcessor (deps: IngestDeps) {
  return async (job: Job<UsersIngestJob, UsersIngestResult>): Promise<UsersIngestResult> => {
    const records = job.data?.records
    // Retrying can't fix a payload of the wrong shape: straight to the dead letters.
    if (!Array.isArray(records)) throw new UnrecoverableError('payload has no records array')
    const result = await deps.upsertRecords(records)
    await deps.ingestSettled()
    return result
  }
}
