import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { listDeadLetters, replayDeadLetters } from '../jobs/dead-letters.js'
import { toHttpError, UnauthenticatedError } from '../errors.js'
import bullBoardPlugin from '../plugins/external/bull-board.js'
import { ErrorSchema } from '../schemas/errors.js'
import {
  DeadLetterListQuerySchema, DeadLetterListSchema, DeadLetterReplaySchema, DeadLetterReplayedSchema
} from '../schemas/users.js'
import { requireAdmin } from './guards.js'

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema }

// The dashboard's gate: admin credentials (HTTP Basic in a browser, or an admin JWT). bull-board installs its own
// error handler in its routes' context, so refusals are answered here, in the app's error shape and with the
// Basic challenge a browser needs to show its login prompt.
async function dashboardGate (request: FastifyRequest, reply: FastifyReply) {
  try {
    await requireAdmin(request, reply)
  } catch (err) {
    const { statusCode, body } = toHttpError(err)
    if (err instanceof UnauthenticatedError && err.challenge) reply.header('www-authenticate', err.challenge)
    return await reply.code(statusCode).send(body)
  }
}

// Admin only: dead letters of every queue of the app (ingest, export, other domains' jobs), list and replay; and
// the queues dashboard (bull-board) at /admin/queues.
const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/admin/dead-letters', {
    schema: {
      tags: ['admin'],
      summary: 'Jobs that failed for good (retries exhausted or unrecoverable), newest first',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      querystring: DeadLetterListQuerySchema,
      response: { 200: DeadLetterListSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => await listDeadLetters(app.queues.all(), request.query))

  app.post('/admin/dead-letters/replay', {
    schema: {
      tags: ['admin'],
      summary: 'Move dead letters back to their queue with fresh attempts',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      body: DeadLetterReplaySchema,
      response: { 200: DeadLetterReplayedSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => ({ replayed: await replayDeadLetters(app.queues.all(), request.body ?? {}) }))

  // A context of its own, so the gate (onRequest, before bull-board's hooks) covers exactly the dashboard.
  await app.register(async (dashboard) => {
    dashboard.addHook('onRequest', dashboardGate)
    await dashboard.register(bullBoardPlugin)
  })
}

export default adminRoutes
