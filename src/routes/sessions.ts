import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyContextConfig } from 'fastify'
import {
  CompletedQuerySchema, CompletedSessionsSchema, HoursParamsSchema, PlayerParamsSchema, PutEventsBodySchema,
  PutEventsRefusedSchema, PutEventsResultSchema, StartsByCountrySchema, StartsQuerySchema
} from '../schemas/sessions.js'
import { ErrorSchema } from '../schemas/errors.js'

const errors = { 400: ErrorSchema, 503: ErrorSchema }

// Paths are the original service's, so existing game clients keep working.
const sessionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { sessions, config } = app
  // Session writes stay anonymous (the original game clients send no credentials), so each client address is
  // limited instead: SESSIONS_RATE_LIMIT_MAX batches per RATE_LIMIT_WINDOW_MS, counted in Redis.
  const rateLimit = config.SESSIONS_RATE_LIMIT_MAX > 0
    ? { rateLimit: { max: config.SESSIONS_RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS } }
    : {}

  app.post('/put_events', {
    schema: {
      tags: ['sessions'],
      summary: 'Store a batch of 1-10 session start/end events',
      description: 'Each event is checked on its own: valid ones are stored even when others are rejected. ' +
        '200: every event stored (or already stored); 207: some stored, some rejected (see `rejected`); ' +
        '400: none stored (every event rejected, or the batch itself is malformed).',
      body: PutEventsBodySchema,
      response: {
        200: PutEventsResultSchema, 207: PutEventsResultSchema, 429: ErrorSchema, ...errors, 400: PutEventsRefusedSchema
      }
    },
    config: rateLimit as FastifyContextConfig,
    // The body schema documents the events; the service validates them one by one, so a bad event is reported
    // in `rejected` instead of refusing the whole batch (and no coercion turns a bare scalar into an array).
    validatorCompiler: () => () => true
  }, async (request, reply) => {
    const result = await sessions.putEvents(request.body as unknown)
    // A client that only checks the status must learn that events were lost: never a plain 200 with rejects.
    if (result.rejected.length === 0) return result
    if (result.accepted + result.duplicates > 0) return await reply.code(207).send(result)
    const first = result.rejected[0]!
    return await reply.code(400).send({
      message: `every event was rejected (event ${first.index}: ${first.message})`,
      code: 'PLAYFIELD_INVALID_ARGUMENT',
      ...result
    })
  })

  app.get('/end_players_events/:player_id', {
    schema: {
      tags: ['sessions'],
      summary: "A player's last completed sessions, newest end first",
      params: PlayerParamsSchema,
      querystring: CompletedQuerySchema,
      response: { 200: CompletedSessionsSchema, ...errors }
    }
  }, async (request) => await sessions.completedSessions(request.params.player_id, request.query.limit))

  app.get('/start_players_events/:hours', {
    schema: {
      tags: ['sessions'],
      summary: 'Sessions started in the last `hours`, grouped by country',
      description: 'Counts are exact; each country lists its newest `limit` sessions (at most ' +
        'SESSIONS_WINDOW_MAX_LISTED in all). A country listed in part carries `next_cursor`; `?cursor=` (or ' +
        '`?country=`) answers one country a page at a time.',
      params: HoursParamsSchema,
      querystring: StartsQuerySchema,
      response: { 200: StartsByCountrySchema, ...errors }
    }
  }, async (request, reply) => {
    // Already JSON (the service renders it from pre-rendered parts): a string with a JSON content type is sent as
    // is, the schema above still documents it.
    const { hours } = request.params
    const { limit, country, cursor } = request.query
    const body = await sessions.startsByCountryJson(hours, limit, { country, cursor })
    return await reply.type('application/json; charset=utf-8').send(body as never)
  })
}

export default sessionsRoutes
