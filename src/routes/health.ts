import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'

const HealthReportSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  shuttingDown: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Union([Type.Literal('up'), Type.Literal('down')])),
  reason: Type.Optional(Type.String({ description: 'why the process is not ready (503 only)' }))
})

// How @fastify/under-pressure treats a route while the process is saturated (see plugins/external/under-pressure.ts).
// Returning nothing serves the request as usual; returning a body answers it with that body.
type PressureHandler =
  (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => unknown

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Liveness is never shed: a busy process is alive, and an orchestrator must not restart it for being busy.
  const neverShed: PressureHandler = () => undefined
  app.get('/health/live', {
    schema: { tags: ['health'], summary: 'The process is up (never shed under load)', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    logLevel: 'warn',
    config: { pressureHandler: neverShed }
  }, async () => ({ status: 'ok' as const }))

  // Readiness under pressure: 503 with the reason and Retry-After, from the last probe results (no new probe work
  // while saturated), so a load balancer stops routing here until the pressure is gone.
  const notReadyUnderPressure: PressureHandler = (_request, reply, type, value) => {
    reply.code(503).header('retry-after', String(app.pressure.retryAfterS))
    const shown = typeof value === 'number' && Number.isFinite(value) ? ` ${Math.round(value * 1000) / 1000}` : ''
    return {
      status: 'unavailable',
      shuttingDown: app.health.isShuttingDown(),
      checks: app.health.lastChecks(),
      reason: `under pressure: ${type}${shown}`
    }
  }
  app.get('/health/ready', {
    schema: {
      tags: ['health'],
      summary: 'Ready to serve: every dependency answers, the process is not saturated and shutdown has not begun',
      response: { 200: HealthReportSchema, 503: HealthReportSchema }
    },
    logLevel: 'warn',
    config: { pressureHandler: notReadyUnderPressure }
  }, async (_request, reply) => {
    const report = await app.health.check()
    const ok = report.ready && !report.shuttingDown
    if (ok) return reply.code(200).send({ status: 'ok', shuttingDown: false, checks: report.checks })
    const down = Object.entries(report.checks).filter(([, s]) => s === 'down').map(([name]) => name)
    const reason = report.shuttingDown ? 'shutting down' : `dependency down: ${down.join(', ') || 'unknown'}`
    reply.header('retry-after', String(app.pressure.retryAfterS))
    return reply.code(503).send({ status: 'unavailable', shuttingDown: report.shuttingDown, checks: report.checks, reason })
  })
}

export default healthRoutes
