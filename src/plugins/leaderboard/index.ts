import fp from 'fastify-plugin'
import { createLeaderboardStore } from './redis-store.js'
import { createLeaderboard, type LeaderboardService } from './service.js'
import { maintenanceQueue, scheduleMaintenance } from './queues.js'

declare module 'fastify' {
  interface FastifyInstance { leaderboard: LeaderboardService }
}

export default fp(async function leaderboardPlugin (app) {
  const store = createLeaderboardStore(app.redis)
  const leaderboard = createLeaderboard({ store, clock: app.clock, config: app.config })
  app.decorate('leaderboard', leaderboard)

  // The queue exists in every process (so the dashboard lists it); the schedule is upserted where workers run
  // (src/jobs/leaderboard-maintenance.ts consumes it).
  const queue = maintenanceQueue(app.queues)
  if (app.queues.workersEnabled) {
    app.addHook('onReady', async () => { await scheduleMaintenance(queue, app.config.LEADERBOARD_MAINTENANCE_CRON) })
  }
}, { name: 'leaderboard', dependencies: ['redis', 'queues', 'accounts'] })
