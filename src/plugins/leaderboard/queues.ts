import type { Queue } from 'bullmq'
import type { QueueRegistry } from '../infra/queues.js'

// The job the leaderboard domain produces: the daily maintenance, one repeatable job (a BullMQ job scheduler) on
// queue lb:q:maintenance. Its consumer is src/jobs/leaderboard-maintenance.ts.

export const LB_DOMAIN = 'lb'
export const MAINTENANCE_QUEUE = 'maintenance'
export const MAINTENANCE_SCHEDULER_ID = 'lb-daily-maintenance'

/** No input: the job works on every board as of the clock's "now". */
export type MaintenancePayload = Record<string, never>
export interface MaintenanceResult { boards: number, droppedBuckets: number, day: number }

export type MaintenanceQueue = Queue<MaintenancePayload, MaintenanceResult>

const KEEP = { removeOnComplete: 50, removeOnFail: 100 }

export function maintenanceQueue (queues: QueueRegistry): MaintenanceQueue {
  return queues.queue<MaintenancePayload, MaintenanceResult>(LB_DOMAIN, MAINTENANCE_QUEUE, {
    defaultJobOptions: { ...KEEP }
  })
}

/** Idempotent: every process that runs workers upserts the same schedule, and they agree on one. */
export async function scheduleMaintenance (queue: MaintenanceQueue, cron: string): Promise<void> {
  await queue.upsertJobScheduler(MAINTENANCE_SCHEDULER_ID, { pattern: cron, tz: 'UTC' },
    { name: 'maintain', data: {}, opts: { ...KEEP } })
}
