import type { Job } from 'bullmq'
import type { LeaderboardService } from '../plugins/leaderboard/service.js'

// The daily leaderboard maintenance: one repeatable job (a BullMQ job scheduler) on queue lb:q:maintenance.
export const LB_DOMAIN = 'lb'
export const MAINTENANCE_QUEUE = 'maintenance'
export const MAINTENANCE_SCHEDULER_ID = 'lb-daily-maintenance'

/** No input: the job works on every board as of the clock's "now". */
export type MaintenancePayload = Record<string, never>
export interface MaintenanceResult { boards: number, droppedBuckets: number, day: number }

export function maintenanceProcessor (leaderboard: Pick<LeaderboardService, 'maintain'>) {
  return async (_job: Job<MaintenancePayload, MaintenanceResult>): Promise<MaintenanceResult> => {
    return await leaderboard.maintain()
  }
}
