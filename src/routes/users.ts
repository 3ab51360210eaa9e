import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorSchema } from '../schemas/errors.js'
import {
  ExportAcceptedSchema, ExportParamsSchema, ExportStatusSchema, UserListQuerySchema, UserPageSchema, UserParamsSchema,
  UserSchema, UsersStatsSchema
} from '../schemas/users.js'
import { requireAdmin, requireJwt } from './guards.js'

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema }

// Stored users are personal data: reading them (list, one user) and the export need the admin role; the counters
// of /users/stats hold none and need any account's JWT. Records arrive over gRPC (Users service).
const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users } = app

  app.get('/users', {
    schema: {
      tags: ['users'],
      summary: 'Stored users in email order, a page at a time (admin: personal data)',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      querystring: UserListQuerySchema,
      response: { 200: UserPageSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => await users.list(request.query.cursor, request.query.limit))

  app.get('/users/stats', {
    schema: {
      tags: ['users'],
      summary: 'Stored users, upsert counters and the ingest queue',
      security: [{ bearerAuth: [] }],
      response: { 200: UsersStatsSchema, ...errors }
    },
    preHandler: requireJwt
  }, async () => await users.stats())

  app.get('/users/:email', {
    schema: {
      tags: ['users'],
      summary: 'One stored user by email, case-insensitive (admin: personal data)',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      params: UserParamsSchema,
      response: { 200: UserSchema, 404: ErrorSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => await users.get(request.params.email))

  app.post('/users/export', {
    schema: {
      tags: ['users', 'admin'],
      summary: 'Queue an export of every stored user to USERS_EXPORT_PATH',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      response: { 202: ExportAcceptedSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request, reply) => {
    return reply.code(202).send({ job_id: await users.requestExport(request.user?.sub) })
  })

  app.get('/users/export/:id', {
    schema: {
      tags: ['users', 'admin'],
      summary: 'State (and result) of an export job',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      params: ExportParamsSchema,
      response: { 200: ExportStatusSchema, 404: ErrorSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => await users.exportStatus(request.params.id))
}

export default usersRoutes
