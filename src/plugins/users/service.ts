import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Queue } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { InvalidArgumentError, NotFoundError } from '../../errors.js'
import {
  DEBOUNCED_EXPORT_ID, type UsersExportJob, type UsersExportResult, type UsersIngestJob, type UsersIngestResult
} from './queues.js'
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
// Duplicate detection remembers a content fingerprint per email of the call, for the USERS_DEDUP_WINDOW emails seen
// last (oldest forgotten first): a bounded window, whatever the call's length. It only saves work: a repeat the
// window forgot is queued again and stored as unchanged (the upsert is idempotent).
const EXPORT_PAGE = 1000
/** The ids BullMQ gives the jobs this domain adds (it never sets its own). */
const JOB_ID = /^[1-9][0-9]{0,19}$/
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

/** Batches being added to the queue at once per call: the stream reads on while they are on their way. */
const MAX_FLUSHES_IN_FLIGHT = 4
/** The queue length is checked after this many batches of a call (one Redis round trip each time). */
const ROOM_CHECK_EVERY = 4

/**
 * A 53-bit content fingerprint (cyrb53), for spotting a record repeated within one call. Not cryptographic: no
 * secret is at stake, only "same content as before"; a false match needs a 2^-53 coincidence for one email.
 * About a third of the cost of a SHA-1 digest per record, and a number is lighter in the map than a string.
 */
export function fingerprint (s: string): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
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
   * One ingest call: records are validated as they arrive and queued in batches. Up to MAX_FLUSHES_IN_FLIGHT
   * batches are being added while the next one fills (one connection: Redis receives them in order), so at most
   * that many plus one are in memory, whatever the length of the stream.
   */
  function ingestSession () {
    const counts = { received: 0, accepted: 0, duplicates: 0, rejected: 0, jobs: 0 }
    const errors: RecordError[] = []
    const seen = new Map<string, number>()
    const inFlight = new Set<Promise<void>>()
    let batch: UserRecord[] = []
    let flushes = 0
    let failure: { err: unknown } | undefined
    // A failed add fails the call at the next wait (or at the end); batches queued before it stay queued.
    const rethrow = () => { if (failure) throw failure.err }

    function flush (): Promise<void> | undefined {
      if (failure) return Promise.reject(failure.err)
      if (batch.length === 0) return undefined
      const records = batch
      batch = []
      // Resolves once Redis acknowledged the job: from here on the records survive this process.
      const adding: Promise<void> = ingestQueue.add('batch', { records }).then(
        () => { counts.jobs++ },
        (err: unknown) => { failure ??= { err } }
      ).finally(() => { inFlight.delete(adding) })
      inFlight.add(adding)
      const checkRoom = ++flushes % ROOM_CHECK_EVERY === 0
      if (inFlight.size < MAX_FLUSHES_IN_FLIGHT && !checkRoom) return undefined
      return (async () => {
        while (inFlight.size >= MAX_FLUSHES_IN_FLIGHT) await Promise.race(inFlight)
        rethrow()
        if (checkRoom) await waitForRoom()
      })()
    }

    return {
      /**
       * Takes one record. Returns a promise only when the caller must wait before reading on (a batch is being
       * queued and too many are in flight, or the queue is far behind); most records cost no promise at all.
       */
      push (input: Record<string, unknown>): Promise<void> | undefined {
        const index = counts.received++
        const checked = checkRecord(input)
        if (!checked.ok) {
          counts.rejected++
          if (errors.length < MAX_REPORTED_ERRORS) errors.push({ index, message: checked.reason })
          return
        }
        const digest = fingerprint(serialise(checked.record))
        if (seen.get(checked.key) === digest) {
          counts.duplicates++
          return
        }
        // Re-inserted at the end, so the window forgets the emails seen longest ago.
        seen.delete(checked.key)
        seen.set(checked.key, digest)
        if (seen.size > config.USERS_DEDUP_WINDOW) seen.delete(seen.keys().next().value as string)
        batch.push(checked.record)
        counts.accepted++
        if (batch.length >= config.USERS_BATCH_SIZE) return flush()
        return undefined
      },
      /** Queues the last batch and waits until every batch of the call is acknowledged (or one failed). */
      async finish (): Promise<IngestReply> {
        await flush()
        while (inFlight.size > 0) await Promise.race(inFlight)
        rethrow()
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
    async upsertRecords (records: unknown[], version?: number): Promise<UsersIngestResult> {
      const items: Array<{ key: string, json: string }> = []
      let invalid = 0
      for (const r of records) {
        const checked = checkRecord((r ?? {}) as Record<string, unknown>)
        if (checked.ok) items.push({ key: checked.key, json: serialise(checked.record) })
        else invalid++
      }
      return { ...(await store.upsert(items, version)), invalid }
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
      // Jobs are numbered by BullMQ; any other id names none (and 'events', 'id', 'meta'… are the queue's own keys,
      // which a lookup would read as a job: WRONGTYPE).
      const job = JOB_ID.test(id) ? await exportQueue.getJob(id) : undefined
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
     * Writes every user to USERS_EXPORT_PATH as one JSON array in email order: the set of users is the index as
     * copied at the start (one copy per shard, all in one round), each record as read page by page; temp file,
     * fsync, rename, so readers see either the previous complete file or the new complete file. Mode 0600.
     */
    async exportAll (id: string): Promise<UsersExportResult> {
      const started = Date.now()
      const path = resolve(config.USERS_EXPORT_PATH)
      await mkdir(dirname(path), { recursive: true })
      const snap = await store.snapshot(id)
      const tmp = `${path}.${process.pid}.${id}.tmp`
      // Personal data: readable by the service's own user only (0600), whatever the umask; a temp file left by a
      // crash is truncated and narrowed the same way.
      const fh = await open(tmp, 'w', 0o600)
      let count = 0
      let bytes = 0
      try {
        await fh.chmod(0o600)
        let buf = '['
        for await (const page of store.pages(snap, EXPORT_PAGE)) {
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
        await store.dropSnapshot(snap)
        throw err
      }
      await rename(tmp, path)
      // The rename itself is durable only once the directory entry is on disk.
      const dir = await open(dirname(path), 'r')
      await dir.sync().catch(() => {}).finally(() => dir.close())
      await store.dropSnapshot(snap)
      const result = { path, count, bytes, duration_ms: Date.now() - started }
      log.info(result, 'users exported')
      return result
    }
  }
}

export type UsersService = ReturnType<typeof createUsers>
