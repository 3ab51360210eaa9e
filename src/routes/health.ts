import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const HealthReportSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  shuttingDown: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Union([Type.Literal('up'), Type.Literal('down')]))
})

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', {
    schema: { tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    logLevel: 'warn'
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    schema: {
      tags: ['health'],
      summary: 'Ready to serve: every dependency answers and shutdown has not begun',
      response: { 200: HealthReportSchema, 503: HealthReportSchema }
    },
    logLevel: 'warn'
  }, async (_request, reply) => {
    const report = await app.health.check()
    const ok = report.ready && !report.shuttingDown
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', shuttingDown: report.shuttingDown, checks: report.checks })
  })
}

export default healthRoutes
