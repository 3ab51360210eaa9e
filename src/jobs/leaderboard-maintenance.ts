import type { FastifyInstance } from 'fastify'
import type { Job } from 'bullmq'
import type { LeaderboardService } from '../plugins/leaderboard/service.js'
import {
  LB_DOMAIN, MAINTENANCE_QUEUE, type MaintenancePayload, type MaintenanceResult
} from '../plugins/leaderboard/queues.js'

// Consumer of lb:q:maintenance (produced by src/plugins/leaderboard/queues.ts): the daily leaderboard maintenance.
export { MAINTENANCE_QUEUE, MAINTENANCE_SCHEDULER_ID } from '../plugins/leaderboard/queues.js'

export function maintenanceProcessor (leaderboard: Pick<LeaderboardService, 'maintain'>) {
  return async (_job: Job<MaintenancePayload, MaintenanceResult>): Promise<MaintenanceResult> => {
    return await leaderboard.maintain()
  }
}

export function maintenanceWorker (app: FastifyInstance) {
  return app.queues.worker(LB_DOMAIN, MAINTENANCE_QUEUE, maintenanceProcessor(app.leaderboard), { concurrency: 1 })
}
