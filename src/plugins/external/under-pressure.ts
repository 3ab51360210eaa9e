import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'

// Sheds load with 503 when the event loop is saturated, rather than letting every request time out.
// Dependency health is not checked here: that is /health/ready's job.
export default fp(async function underPressurePlugin (app, { maxEventLoopDelay }: { maxEventLoopDelay: number }) {
  if (maxEventLoopDelay === 0) return
  await app.register(underPressure, {
    maxEventLoopDelay,
    message: 'server under pressure, retry shortly',
    retryAfter: 5
  })
}, { name: 'under-pressure' })
