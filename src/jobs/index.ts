import fp from 'fastify-plugin'
import { maintenanceWorker } from './leaderboard-maintenance.js'
import { usersExportWorker } from './users-export.js'
import { usersIngestWorker } from './users-ingest.js'

// The third door into the domains, beside REST and gRPC: one consumer per queue, each calling its domain's
// service. Workers start only where this process runs them (WORKERS_ENABLED, or src/worker.ts); producers are
// the domains' queues.ts.
export default fp(async function jobs (app) {
  usersIngestWorker(app)
  usersExportWorker(app)
  maintenanceWorker(app)
}, { name: 'jobs', dependencies: ['queues', 'users', 'leaderboard'] })
