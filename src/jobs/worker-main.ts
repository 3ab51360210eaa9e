import { bootConfig, start } from '../server.js'

// Workers only, as a separate process (`npm run worker`, `playfield worker`, `docker compose up --scale worker=5`).
start(bootConfig(), 'worker').catch((err: Error) => {
  process.stderr.write(`playfield worker: failed to start: ${err.message}\n`)
  process.exit(1)
})
