import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyContextConfig, FastifyInstance } from 'fastify'
import { toHttpError } from '../errors.js'
import { parseAdParams, parseSignedRef, parseStatisticsFilter, type Query } from '../plugins/ads/service.js'
import { AdQuerySchema, AdsReplySchema, ImpressionQuerySchema, StatisticsQuerySchema, StatisticsReplySchema, VastSchema } from '../schemas/ads.js'

// The ads API keeps the original service's paths and bodies: `{ success, message }` for every outcome, and
// query checks in a fixed order with its wording. The schemas document the API; the handlers validate, so a
// route-level validator that accepts everything keeps Fastify's default 400 body out of the way.

const acceptAll = () => (data: unknown) => ({ value: data })
const errors = {
  400: AdsReplySchema, 403: AdsReplySchema, 404: AdsReplySchema, 429: AdsReplySchema, 503: AdsReplySchema
}
const FETCHED = { success: true, message: 'Successfully fetched' } as const

// Impression URLs point at PUBLIC_BASE_URL (required in production; the ads service prefers it). Without it, in
// development, at the address this server listens on — never at the request's Host header, which the caller
// chooses (a forged Host would send impressions, and their signatures, elsewhere).
// Asked once the server listens (a listening server's address does not change): `server.address()` is a
// getsockname call, profiled at 4.4 % of GET /ad's CPU when it ran per request.
function listenBase (app: FastifyInstance): () => string {
  let known: string | undefined
  return () => {
    if (known) return known
    const address = app.server.address()
    if (address && typeof address === 'object') {
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return (known = `http://${host}:${address.port}`)
    }
    return `http://${app.config.HOST}:${app.config.HTTP_PORT}`
  }
}

const adsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ads, config } = app
  const base = listenBase(app)
  // Anonymous and each counted in Redis: per client address, ADS_RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS per path.
  const rateLimit: FastifyContextConfig = config.ADS_RATE_LIMIT_MAX > 0
    ? { rateLimit: { max: config.ADS_RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS } }
    : {}

  app.setErrorHandler((err, request, reply) => {
    const { statusCode, body } = toHttpError(err)
    if (statusCode >= 500) request.log.error({ err }, 'request failed')
    else request.log.info({ err: { message: body.message, code: body.code } }, 'request rejected')
    return reply.code(statusCode).send({ success: false, message: body.message })
  })

  app.get('/ad', {
    schema: {
      tags: ['ads'],
      summary: 'Serve one ad as VAST XML and count the ad request',
      querystring: AdQuerySchema,
      response: { 200: { description: 'VAST 4.2 (an empty <VAST/> is a no-fill)', content: { 'application/xml': { schema: VastSchema } } }, ...errors }
    },
    config: rateLimit,
    validatorCompiler: acceptAll
  }, async (request, reply) => {
    const params = parseAdParams(request.query as Query)
    const { xml, source } = await ads.requestAd(params, base())
    return reply.type('application/xml').header('x-ad-source', source).send(xml)
  })

  app.get('/impression', {
    schema: {
      tags: ['ads'],
      summary: 'Count one impression (signed Impression URLs count once per ad serving id)',
      querystring: ImpressionQuerySchema,
      response: { 200: AdsReplySchema, ...errors }
    },
    config: rateLimit,
    validatorCompiler: acceptAll
  }, async (request) => {
    const query = request.query as Query
    const params = parseAdParams(query)
    const signed = parseSignedRef(query)
    if (signed) await ads.countSignedImpression(params, signed)
    else await ads.countImpression(params)
    return FETCHED
  })

  app.get('/statistics', {
    schema: {
      tags: ['ads'],
      summary: 'Impressions, ad requests and fill rate of one username or one SDK version',
      querystring: StatisticsQuerySchema,
      response: { 200: StatisticsReplySchema, ...errors }
    },
    validatorCompiler: acceptAll
  }, async (request) => {
    const q = request.url.indexOf('?')
    const filter = parseStatisticsFilter(q === -1 ? '' : request.url.slice(q + 1))
    const { no_fills: noFills, ...stats } = await ads.statistics(filter)
    const withNoFills = (request.query as Query).include === 'no_fills'
    return { success: true, [filter.value]: withNoFills ? { ...stats, no_fills: noFills } : stats }
  })
}

export default adsRoutes
