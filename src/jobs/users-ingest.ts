import type { FastifyInstance } from 'fastify'
import { UnrecoverableError, type Job } from 'bullmq'
import type { Config } from '../config.js'
import {
  USERS_DOMAIN, USERS_INGEST_QUEUE, type UsersIngestJob, type UsersIngestResult
} from '../plugins/users/queues.js'

// Consumer of users:q:ingest (produced by the users service, queue in src/plugins/users/queues.ts).
// At-least-once: a job may run twice (a worker dies after the upsert, before the ack); the upsert is
// idempotent, so the second run finds every record unchanged. Jobs may also run out of order (several workers, a
// retry after backoff): each record is versioned by its job's id (BullMQ numbers jobs in the order they were
// added, and a replayed dead letter keeps its id) and its place in the batch, so an older record never
// overwrites a newer one of the same user.
// Personal data stays in a job only while it is needed: a processed job's records are dropped (its counts stay);
// a failed job (a dead letter) keeps them until an admin replays or removes it.

export interface IngestDeps {
  upsertRecords (records: unknown[], version?: number): Promise<UsersIngestResult>
  /** Called after a batch is stored: (re)arms the debounced export. */
  ingestSettled (): Promise<void>
}

export function usersIngestProcessor (deps: IngestDeps) {
  return async (job: Job<UsersIngestJob, UsersIngestResult>): Promise<UsersIngestResult> => {
    const records = job.data?.records
    // Retrying can't fix a payload of the wrong shape: straight to the dead letters.
    if (!Array.isArray(records)) throw new UnrecoverableError('payload has no records array')
    const result = await deps.upsertRecords(records, versionOf(job))
    // The payload is personal data: once the batch is stored the job keeps only its counts. Should this worker die
    // right here, the retry finds no records and stores nothing twice: the records are already in.
    await job.updateData({ records: [] })
    await deps.ingestSettled()
    return result
  }
}

// Room for 2^20 records per batch under one job id; exact in a double (and in Lua) up to 2^33 job ids.
const BATCH_SPAN = 2 ** 20

export function versionOf (job: Pick<Job, 'id'>): number | undefined {
  const id = String(job.id ?? '')
  return /^\d{1,10}$/.test(id) ? Number(id) * BATCH_SPAN : undefined
}

/**
 * A worker that dies keeps its jobs locked for lockDuration; the stalled check then hands them to another
 * worker. A job that stalls again and again (it crashes its workers) ends in the dead letters.
 */
export const usersLock = (config: Config) => ({
  lockDuration: config.USERS_LOCK_DURATION_MS,
  stalledInterval: config.USERS_LOCK_DURATION_MS,
  maxStalledCount: 3
})

export function usersIngestWorker (app: FastifyInstance) {
  return app.queues.worker(USERS_DOMAIN, USERS_INGEST_QUEUE, usersIngestProcessor(app.users), usersLock(app.config))
}
