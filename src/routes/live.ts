import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../errors.js'
import { ErrorSchema } from '../schemas/errors.js'
import { LIVE_PAGE } from './live-page.js'

// GET / — the live leaderboard page — and the public, read-only data it polls. Only the top 10 and a searched
// player's neighbourhood are exposed; everything else stays behind the JWT-protected API.

const Record_ = Type.Object({ name: Type.String(), score: Type.Integer(), rank: Type.Integer() })
const Top = Type.Object({ results: Type.Array(Record_), total: Type.Integer() })
const Standing = Type.Union([
  Type.Null(),
  Type.Object({ rank: Type.Integer(), score: Type.Integer(), around: Type.Array(Record_) })
])
const WINDOWS = ['all_time', 'last_30_days'] as const

const liveRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { leaderboard } = app
  const rateLimit = { max: 600, timeWindow: 60_000 }

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(LIVE_PAGE)
  })

  app.get('/live/top', {
    schema: {
      tags: ['leaderboard'],
      summary: 'Top 10 of the all-time and 30-day boards (public, for the live page)',
      response: { 200: Type.Object({ all_time: Top, last_30_days: Top }) }
    },
    config: { rateLimit }
  }, async () => {
    const [allTime, last30] = await Promise.all(WINDOWS.map(window => leaderboard.page({ window, page: 1, size: 10 })))
    return {
      all_time: { results: allTime!.results, total: allTime!.total },
      last_30_days: { results: last30!.results, total: last30!.total }
    }
  })

  app.get('/live/standing', {
    schema: {
      tags: ['leaderboard'],
      summary: "A player's rank and neighbours on both boards (public, for the live page)",
      querystring: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: {
        200: Type.Object({ name: Type.String(), all_time: Standing, last_30_days: Standing }),
        400: ErrorSchema,
        404: ErrorSchema
      }
    },
    config: { rateLimit }
  }, async (request) => {
    const { name } = request.query
    const [allTime, last30] = await Promise.all(WINDOWS.map(window =>
      leaderboard.standing(name, { window }).catch((err: unknown) => {
        if (err instanceof NotFoundError) return null
        throw err
      })))
    if (!allTime && !last30) throw new NotFoundError(`player "${name}" is not on any board`)
    return { name, all_time: allTime ?? null, last_30_days: last30 ?? null }
  })
}

export default liveRoutes
