import fp from 'fastify-plugin'
import { createLeaderboardStore } from './redis-store.js'
import { createLeaderboard, type LeaderboardService } from './service.js'
import {
  LB_DOMAIN, MAINTENANCE_QUEUE, MAINTENANCE_SCHEDULER_ID, maintenanceProcessor,
  type MaintenancePayload, type MaintenanceResult
} from '../../jobs/leaderboard-maintenance.js'

declare module 'fastify' {
  interface FastifyInstance { leaderboard: LeaderboardService }
}

export default fp(async function leaderboardPlugin (app) {
  const store = createLeaderboardStore(app.redis)
  const leaderboard = createLeaderboard({ store, clock: app.clock, config: app.config })
  app.decorate('leaderboard', leaderboard)

  // The queue exists in every process (so the dashboard lists it); the scheduler is upserted and the worker runs
  // where workers run. upsertJobScheduler is idempotent: many processes agree on one schedule.
  const queue = app.queues.queue<MaintenancePayload, MaintenanceResult>(LB_DOMAIN, MAINTENANCE_QUEUE, {
    defaultJobOptions: { removeOnComplete: 50, removeOnFail: 100 }
  })
  app.queues.worker(LB_DOMAIN, MAINTENANCE_QUEUE, maintenanceProcessor(leaderboard), { concurrency: 1 })
  if (app.queues.workersEnabled) {
    app.addHook('onReady', async () => {
      await queue.upsertJobScheduler(MAINTENANCE_SCHEDULER_ID,
        { pattern: app.config.LEADERBOARD_MAINTENANCE_CRON, tz: 'UTC' },
        { name: 'maintain', data: {}, opts: { removeOnComplete: 50, removeOnFail: 100 } })
    })
  }
}, { name: 'leaderboard', dependencies: ['redis', 'queues', 'accounts'] })
