import { createHash } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Queue } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { InvalidArgumentError, NotFoundError } from '../../errors.js'
import { DEBOUNCED_EXPORT_ID, type UsersExportJob, type UsersExportResult } from '../../jobs/users-export.js'
import type { UsersIngestJob, UsersIngestResult } from '../../jobs/users-ingest.js'
import { checkRecord, normaliseEmail, serialise, type UserRecord } from './records.js'
import type { UsersStore } from './redis-store.js'

export interface RecordError { index: number, message: string }

export interface IngestReply {
  status: boolean
  message: string
  received: number
  accepted: number
  duplicates: number
  rejected: number
  errors: RecordError[]
  jobs: number
}

/** Per-record reasons beyond this many are counted but not listed (the reply stays small). */
export const MAX_REPORTED_ERRORS = 1000
// Duplicate detection remembers a short content hash per email of the call, up to this many emails.
const MAX_TRACKED_EMAILS = 2_000_000
const EXPORT_PAGE = 1000
const WRITE_CHUNK = 256 * 1024

export interface UsersDeps {
  store: UsersStore
  config: Config
  ingestQueue: Queue<UsersIngestJob, UsersIngestResult>
  exportQueue: Queue<UsersExportJob, UsersExportResult>
  log: FastifyBaseLogger
}

function replyOf (s: Omit<IngestReply, 'status' | 'message'>): IngestReply {
  const status = s.accepted > 0 || s.rejected === 0
  const message = s.received === 0
    ? 'no records received'
    : `${s.accepted} of ${s.received} records durably queued (${s.duplicates} duplicates, ${s.rejected} rejected)`
  return { status, message, ...s }
}

export function createUsers ({ store, config, ingestQueue, exportQueue, log }: UsersDeps) {
  async function waitForRoom () {
    // Backpressure: while the workers are far behind, the caller (a client stream) stops reading.
    let waited = 0
    while (await ingestQueue.getWaitingCount() > config.USERS_MAX_WAITING_JOBS) {
      if (waited === 0) log.debug({ max: config.USERS_MAX_WAITING_JOBS }, 'ingest queue full, holding the stream')
      await sleep(Math.min(200, 20 + waited * 10))
      waited++
    }
  }

  /**
   * One ingest call: records are validated as they arrive and queued in batches, so at most one batch (plus the
   * one being added) is in memory, whatever the length of the stream.
   */
  function ingestSession () {
    const counts = { received: 0, accepted: 0, duplicates: 0, rejected: 0, jobs: 0 }
    const errors: RecordError[] = []
    const seen = new Map<string, string>()
    let batch: UserRecord[] = []

    async function flush () {
      if (batch.length === 0) return
      const records = batch
      batch = []
      // Resolves once Redis acknowledged the job: from here on the records survive this process.
      await ingestQueue.add('batch', { records })
      counts.jobs++
      await waitForRoom()
    }

    return {
      /**
       * Takes one record. Returns a promise only when the batch is being queued: the caller waits for it before
       * reading the next record (most records cost no promise at all).
       */
      push (input: Record<string, unknown>): Promise<void> | undefined {
        const index = counts.received++
        const checked = checkRecord(input)
        if (!checked.ok) {
          counts.rejected++
          if (errors.length < MAX_REPORTED_ERRORS) errors.push({ index, message: checked.reason })
          return
        }
        const digest = createHash('sha1').update(serialise(checked.record)).digest('base64').slice(0, 12)
        if (seen.get(checked.key) === digest) {
          counts.duplicates++
          return
        }
        if (seen.size < MAX_TRACKED_EMAILS || seen.has(checked.key)) seen.set(checked.key, digest)
        batch.push(checked.record)
        counts.accepted++
        if (batch.length >= config.USERS_BATCH_SIZE) return flush()
        return undefined
      },
      async finish (): Promise<IngestReply> {
        await flush()
        return replyOf({ ...counts, errors })
      }
    }
  }

  async function scheduleExport (delay: number) {
    // Debounce: each ingest batch pushes the single pending export back, so it runs once the ingest settled.
    await exportQueue.add('export', { reason: 'debounced' }, {
      delay,
      deduplication: { id: DEBOUNCED_EXPORT_ID, ttl: Math.max(1, delay), extend: true, replace: true }
    })
  }

  return {
    ingestSession,

    /** SendUserInfo: one record, one job. */
    async sendOne (input: Record<string, unknown>): Promise<IngestReply> {
      const session = ingestSession()
      await session.push(input)
      return await session.finish()
    },

    /** Worker side: re-validates (payloads may come from replays or other producers) and upserts the batch. */
    async upsertRecords (records: unknown[]): Promise<UsersIngestResult> {
      const items: Array<{ key: string, json: string }> = []
      let invalid = 0
      for (const r of records) {
        const checked = checkRecord((r ?? {}) as Record<string, unknown>)
        if (checked.ok) items.push({ key: checked.key, json: serialise(checked.record) })
        else invalid++
      }
      return { ...(await store.upsert(items)), invalid }
    },

    async ingestSettled () {
      await scheduleExport(config.USERS_EXPORT_DEBOUNCE_MS)
    },

    async get (email: string): Promise<UserRecord> {
      const json = await store.get(normaliseEmail(email))
      if (!json) throw new NotFoundError(`no user with email ${email}`)
      return JSON.parse(json) as UserRecord
    },

    /** A page of users in email order; the cursor is the last normalised email of the previous page. */
    async list (cursor: string | undefined, limit: number):
    Promise<{ users: UserRecord[], next_cursor: string | null }> {
      if (limit < 1 || limit > 1000) throw new InvalidArgumentError('limit must be between 1 and 1000')
      const page = await store.page(cursor === '' ? undefined : cursor, limit)
      return {
        users: page.values.map(v => JSON.parse(v) as UserRecord),
        next_cursor: page.keys.length === limit ? page.keys[page.keys.length - 1]! : null
      }
    },

    async stats () {
      const [stored, upserts, waiting, active, failed] = await Promise.all([
        store.count(), store.stats(), ingestQueue.getWaitingCount(), ingestQueue.getActiveCount(),
        ingestQueue.getFailedCount()
      ])
      return { stored, ...upserts, queue: { waiting, active, failed } }
    },

    async requestExport (requestedBy?: string): Promise<string> {
      const job = await exportQueue.add('export', { reason: 'requested', requested_by: requestedBy })
      return String(job.id)
    },

    async exportStatus (id: string) {
      const job = await exportQueue.getJob(id)
      if (!job) throw new NotFoundError(`no export job ${id}`)
      const state = await job.getState()
      return {
        job_id: id,
        state,
        result: state === 'completed' ? job.returnvalue : undefined,
        failed_reason: state === 'failed' ? job.failedReason : undefined
      }
    },

    /**
     * Writes every user to USERS_EXPORT_PATH as one JSON array: the set of users is the index as copied at
     * the start (one command), each record as read page by page; temp file, fsync, rename, so readers see
     * either the previous complete file or the new complete file.
     */
    async exportAll (id: string): Promise<UsersExportResult> {
      const started = Date.now()
      const path = resolve(config.USERS_EXPORT_PATH)
      await mkdir(dirname(path), { recursive: true })
      const snap = await store.snapshot(id)
      const tmp = `${path}.${process.pid}.${id}.tmp`
      const fh = await open(tmp, 'w')
      let count = 0
      let bytes = 0
      try {
        let buf = '['
        let after: string | undefined
        for (;;) {
          const page = await store.page(after, EXPORT_PAGE, snap.key)
          if (page.keys.length === 0) break
          after = page.keys[page.keys.length - 1]
          for (const v of page.values) {
            buf += (count === 0 ? '\n' : ',\n') + v
            count++
          }
          if (buf.length >= WRITE_CHUNK) {
            bytes += (await fh.write(buf)).bytesWritten
            buf = ''
          }
        }
        buf += count === 0 ? ']\n' : '\n]\n'
        bytes += (await fh.write(buf)).bytesWritten
        await fh.sync()
        await fh.close()
      } catch (err) {
        await fh.close().catch(() => {})
        await rm(tmp, { force: true })
        await store.dropSnapshot(snap.key)
        throw err
      }
      await rename(tmp, path)
      // The rename itself is durable only once the directory entry is on disk.
      const dir = await open(dirname(path), 'r')
      await dir.sync().catch(() => {}).finally(() => dir.close())
      await store.dropSnapshot(snap.key)
      const result = { path, count, bytes, duration_ms: Date.now() - started }
      log.info(result, 'users exported')
      return result
    }
  }
}

export type UsersService = ReturnType<typeof createUsers>
