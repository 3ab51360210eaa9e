import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { Config } from '../../config.js'

// Sheds load with 503 + Retry-After while the process is saturated (event loop delay or utilization, heap, RSS),
// rather than letting every request time out. Each threshold comes from the config; 0 turns it off.
// Dependency health is not checked here: that is /health/ready's job. Routes choose how they are shed through
// `config.pressureHandler` (see src/routes/health.ts): liveness is never shed, readiness answers its own 503 report.

export interface Pressure {
  /** Seconds sent in Retry-After with every shed answer. */
  retryAfterS: number
}

declare module 'fastify' {
  interface FastifyInstance { pressure: Pressure }
}

const MIB = 1024 * 1024

export default fp(async function underPressurePlugin (app, { config }: { config: Config }) {
  const retryAfterS = config.PRESSURE_RETRY_AFTER_S
  app.decorate('pressure', { retryAfterS })
  const thresholds = {
    maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    maxEventLoopUtilization: config.MAX_EVENT_LOOP_UTILIZATION,
    maxHeapUsedBytes: config.MAX_HEAP_USED_MB * MIB,
    maxRssBytes: config.MAX_RSS_MB * MIB
  }
  if (Object.values(thresholds).every(v => v === 0)) return
  await app.register(underPressure, {
    ...thresholds,
    eventLoopUtilizationMode: 'interval',
    sampleInterval: config.PRESSURE_SAMPLE_INTERVAL_MS,
    message: 'server under pressure, retry shortly',
    retryAfter: retryAfterS
  })
}, { name: 'under-pressure' })
