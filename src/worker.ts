import { bootConfig, start } from './server.js'

// Entry of a standalone worker process: the domains and the job consumers (src/jobs), no HTTP or gRPC door.
// `npm run worker` (node dist/worker.js), the docker-compose `worker` service (`--scale worker=5`), and
// `playfield worker` start the same thing; run the server with WORKERS_ENABLED=false to leave the jobs to them.
start(bootConfig(), 'worker').catch((err: Error) => {
  process.stderr.write(`playfield worker: failed to start: ${err.message}\n`)
  process.exit(1)
})
