import type { Queue } from 'bullmq'
import { queueLabel } from '../plugins/infra/queues.js'

// Dead letters are the failed set of each queue: BullMQ moves a job there only after its last attempt (or
// at once for an UnrecoverableError), and the queues keep failed jobs (removeOnFail: false). Replaying
// moves them back to waiting with fresh attempts — same id, same data.

export interface DeadLetter {
  queue: string
  id: string
  name: string
  failed_reason: string
  attempts_made: number
  failed_at: number | null
  data_bytes: number
}

const qualified = (q: Queue) => queueLabel(q.opts.prefix, q.name)

function pick (queues: Queue[], queue?: string): Queue[] {
  return queue === undefined ? queues : queues.filter(q => qualified(q) === queue)
}

export async function listDeadLetters (queues: Queue[], opts: { queue?: string, limit: number }):
Promise<{ dead_letters: DeadLetter[], total: number }> {
  const out: DeadLetter[] = []
  let total = 0
  for (const q of pick(queues, opts.queue)) {
    total += await q.getFailedCount()
    if (out.length >= opts.limit) continue
    for (const job of await q.getFailed(0, opts.limit - out.length - 1)) {
      out.push({
        queue: qualified(q),
        id: String(job.id),
        name: job.name,
        failed_reason: job.failedReason ?? '',
        attempts_made: job.attemptsMade,
        failed_at: job.finishedOn ?? null,
        data_bytes: Buffer.byteLength(JSON.stringify(job.data ?? null))
      })
    }
  }
  return { dead_letters: out, total }
}

/** Moves failed jobs back to waiting (all of them, or those of one queue / with the given ids). */
export async function replayDeadLetters (queues: Queue[], opts: { queue?: string, ids?: string[] }): Promise<number> {
  let replayed = 0
  for (const q of pick(queues, opts.queue)) {
    if (opts.ids) {
      for (const id of opts.ids) {
        // BullMQ numbers the jobs; another id names none, and some ('events', 'id', 'meta'…) are queue keys that a
        // lookup would read as a job (WRONGTYPE).
        const job = /^[1-9][0-9]{0,19}$/.test(id) ? await q.getJob(id) : undefined
        if (job && await job.isFailed()) {
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
          replayed++
        }
      }
      continue
    }
    // Page through the failed set; each retried job leaves it, so the first page is always the next one.
    for (;;) {
      const jobs = await q.getFailed(0, 499)
      if (jobs.length === 0) break
      for (const job of jobs) {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
        replayed++
      }
    }
  }
  return replayed
}
