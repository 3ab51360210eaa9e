import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorSchema } from '../schemas/errors.js'
import {
  BoardPageSchema, BoardQuerySchema, LeaderboardQuerySchema, PlayerDeletedSchema, PlayerParamsSchema,
  ScoreResultSchema, ScoresBodySchema
} from '../schemas/leaderboard.js'
import { InvalidArgumentError, NotFoundError } from '../errors.js'
import { parseEntries, type Window } from '../plugins/leaderboard/service.js'
import { requireAdmin, requireJwt } from './guards.js'

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema }

function windowOf (query: { window?: Window, last_30_days?: string }): Window {
  const flag = query.last_30_days !== undefined && !['false', '0'].includes(query.last_30_days)
  if (flag && query.window === 'all_time') throw new InvalidArgumentError('last_30_days contradicts window=all_time')
  return flag ? 'last_30_days' : (query.window ?? 'all_time')
}

const leaderboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { leaderboard, config } = app

  // POST and PUT: the original service accepted both, and its clients still send either.
  app.route({
    method: ['POST', 'PUT'],
    url: '/scores',
    schema: {
      tags: ['leaderboard'],
      summary: 'Submit scores; each player keeps their best (POST or PUT, the same)',
      security: [{ bearerAuth: [] }],
      querystring: BoardQuerySchema,
      body: ScoresBodySchema,
      response: { 200: Type.Array(ScoreResultSchema), ...errors }
    },
    preHandler: requireJwt,
    handler: async (request) => {
      // All entries are validated before anything is written: one bad entry and the batch is refused.
      const entries = parseEntries(request.body, config.MAX_BATCH)
      const owner = { name: request.user.sub, admin: request.user.admin }
      const results = await leaderboard.submit(entries, request.query.board, owner)
      return results.map(({ duplicate, ...r }) => duplicate ? { ...r, duplicate } : r)
    }
  })

  app.get('/leaderboard', {
    schema: {
      tags: ['leaderboard'],
      summary: 'A page of the all-time or last-30-days board',
      security: [{ bearerAuth: [] }],
      querystring: LeaderboardQuerySchema,
      response: { 200: BoardPageSchema, ...errors }
    },
    preHandler: requireJwt
  }, async (request) => {
    const { page, name, board } = request.query
    return await leaderboard.page({ board, page, name, window: windowOf(request.query) })
  })

  app.delete('/players/:name', {
    schema: {
      tags: ['leaderboard', 'admin'],
      summary: 'Delete a player from every board (or from ?board=) (admin)',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      params: PlayerParamsSchema,
      querystring: BoardQuerySchema,
      response: { 200: PlayerDeletedSchema, 403: ErrorSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => {
    const { name } = request.params
    const boards = await leaderboard.deletePlayer(name, request.query.board)
    if (boards.length === 0) throw new NotFoundError(`player "${name}" is on no board`)
    return { name, boards }
  })
}

export default leaderboardRoutes
