import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { listDeadLetters, replayDeadLetters } from '../jobs/dead-letters.js'
import { ErrorSchema } from '../schemas/auth.js'
import {
  DeadLetterListQuerySchema, DeadLetterListSchema, DeadLetterReplaySchema, DeadLetterReplayedSchema
} from '../schemas/users.js'

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema }

// Dead letters of every queue of the app (ingest, export, other domains' jobs): list and replay.
const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preHandler', app.auth.requireAdmin)

  app.get('/admin/dead-letters', {
    schema: {
      tags: ['admin'],
      summary: 'Jobs that failed for good (retries exhausted or unrecoverable), newest first',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      querystring: DeadLetterListQuerySchema,
      response: { 200: DeadLetterListSchema, ...errors }
    }
  }, async (request) => await listDeadLetters(app.queues.all(), request.query))

  app.post('/admin/dead-letters/replay', {
    schema: {
      tags: ['admin'],
      summary: 'Move dead letters back to their queue with fresh attempts',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      body: DeadLetterReplaySchema,
      response: { 200: DeadLetterReplayedSchema, ...errors }
    }
  }, async (request) => ({ replayed: await replayDeadLetters(app.queues.all(), request.body ?? {}) }))
}

export default adminRoutes
