import {
  LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest,
  type FastifyServerOptions
} from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { systemClock, type Clock } from './clock.js'
import { correlationIdFromHeaders } from './correlation.js'
import { assetRoot } from './runtime.js'
import { InvalidArgumentError, toHttpError, UnauthenticatedError } from './errors.js'
// shared resources
import healthPlugin from './plugins/infra/health.js'
import redisPlugin from './plugins/infra/redis.js'
import queuesPlugin from './plugins/infra/queues.js'
import accountsPlugin from './plugins/accounts/index.js'
import metricsPlugin from './plugins/external/metrics.js'
import swaggerPlugin from './plugins/external/swagger.js'
import underPressurePlugin from './plugins/external/under-pressure.js'
import rateLimitPlugin from './plugins/external/rate-limit.js'
import grpcServerPlugin from './grpc/server.js'
// domain services
import leaderboardPlugin from './plugins/leaderboard/index.js'
import adsPlugin from './plugins/ads/index.js'
import usersPlugin from './plugins/users/index.js'
import shapesPlugin from './plugins/shapes/index.js'
import categoriesPlugin from './plugins/categories/index.js'
import sessionsPlugin from './plugins/sessions/index.js'
// doors
import guardsPlugin, { requireAdmin } from './routes/guards.js'
import healthRoutes from './routes/health.js'
import authRoutes from './routes/auth.js'
import leaderboardRoutes from './routes/leaderboard.js'
import liveRoutes from './routes/live.js'
import adsRoutes from './routes/ads.js'
import categoriesRoutes from './routes/categories.js'
import sessionsRoutes from './routes/sessions.js'
import usersRoutes from './routes/users.js'
import adminRoutes from './routes/admin.js'
import leaderboardGrpc from './grpc/services/leaderboard.js'
import usersGrpc from './grpc/services/users.js'
import shapesGrpc from './grpc/services/shapes.js'
import jobsPlugin from './jobs/index.js'

type Plugin = FastifyPluginAsync<{ config: Config }>
const list = (...plugins: unknown[]) => plugins as Plugin[]

// What the app is made of. Adding a domain is its files plus one line in DOMAINS (and one per door it opens).
/** Infrastructure only the server role needs (the worker role has no HTTP or gRPC door). */
const SERVER_INFRA = list(swaggerPlugin, underPressurePlugin, rateLimitPlugin, grpcServerPlugin)
/** Domains: each decorates app.<domain> with its service; the doors call only those. */
const DOMAINS = list(accountsPlugin, leaderboardPlugin, adsPlugin, usersPlugin, shapesPlugin, categoriesPlugin,
  sessionsPlugin)
/** The third door, in both roles: queue consumers calling the domain services (they run where workers run). */
const JOB_DOORS = list(jobsPlugin)
/** REST routes, one plugin per domain (thin: parse, authorize, call the domain service, map). */
const REST_DOORS = list(guardsPlugin, healthRoutes, authRoutes, leaderboardRoutes, liveRoutes, adsRoutes,
  categoriesRoutes, sessionsRoutes, usersRoutes, adminRoutes)
/** gRPC services, one per proto service. */
const GRPC_DOORS = list(leaderboardGrpc, usersGrpc, shapesGrpc)

export interface AppOptions {
  config: Config
  clock?: Clock
  /** 'server' (default): both doors and, when WORKERS_ENABLED, the workers. 'worker': workers only. */
  role?: 'server' | 'worker'
}

const MAX_PARAM_LENGTH = 100
// A hop count is given to Fastify as a function (its types take no number): trust the nearest `hops` addresses.
const trustProxyOption = (v: string): boolean | string | ((address: string, hop: number) => boolean) =>
  v === 'true' ? true : /^\d+$/.test(v) ? (_address, hop) => hop < Number(v) : v

/** Fastify options shared by src/server.ts and the tests, so tests build the app exactly as production does. */
export function options (config: Config): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', '*.jwt', 'headers.authorization'],
        censor: '[redacted]'
      },
      // pretty output only on a TTY, and not from the single executable (no pino-pretty inside it)
      ...(process.stdout.isTTY && config.NODE_ENV !== 'production' && !assetRoot() ? { transport: { target: 'pino-pretty' } } : {})
    },
    // The correlation id is the request id: it is on every log line of the request and echoed back.
    genReqId: (req) => correlationIdFromHeaders(req.headers),
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Cassandra schema changes take seconds each on a cluster, and a starter may wait for another process's
    // migration lease: Fastify's 10 s per plugin would fail a healthy boot.
    ...(config.CASSANDRA_CONTACT_POINTS ? { pluginTimeout: 120_000 } : {}),
    // The router's own refusals (a path parameter over maxParamLength: 414; a malformed URL: 400) in the app's
    // error shape, without echoing the (possibly huge) path back.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      reply.code(tooLong ? 414 : 400).send(tooLong
        ? { message: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`, code: 'PLAYFIELD_URI_TOO_LONG' }
        : { message: err.message, code: 'PLAYFIELD_BAD_REQUEST' })
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ...(config.TRUST_PROXY && config.TRUST_PROXY !== 'false' ? { trustProxy: trustProxyOption(config.TRUST_PROXY) } : {}),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } }
  }
}

/**
 * Registers everything, in order: infrastructure, domains, then the doors, so that on close (reverse order) the
 * servers stop before the clients they use. Never listens.
 */
async function app (fastify: FastifyInstance, opts: AppOptions) {
  const { config } = opts
  const clock = opts.clock ?? systemClock
  const role = opts.role ?? 'server'
  fastify.decorate('config', config)
  fastify.decorate('clock', clock)

  // Per-request hooks are synchronous (no promise per request on every route): profiled under load in bench/.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-correlation-id', request.id)
    // A response finished during shutdown closes its keep-alive connection, so the server can stop without
    // waiting for the client's idle timeout.
    if (fastify.health.isShuttingDown()) reply.header('connection', 'close')
    done(null, payload)
  })
  fastify.setErrorHandler((err, request, reply) => {
    const { statusCode, body } = toHttpError(err)
    if (err instanceof UnauthenticatedError && err.challenge) reply.header('www-authenticate', err.challenge)
    if (statusCode >= 500) request.log.error({ err }, 'request failed')
    else request.log.info({ err: { message: (err as Error).message, code: body.code } }, 'request rejected')
    return reply.code(statusCode).send(body)
  })
  // Ajv coerces the strings "Infinity" / "-Infinity" to numbers that then pass `integer`, `minimum` and `maximum`
  // (a known gap of its coercion): refuse them after validation, naming the parameter. Only routes whose
  // querystring or params declare a number get this check (first among their preHandlers), so the others pay
  // nothing for it.
  fastify.addHook('onRoute', (route) => {
    const schema = route.schema as { querystring?: unknown, params?: unknown } | undefined
    if (!declaresNumber(schema?.querystring) && !declaresNumber(schema?.params)) return
    const own = route.preHandler === undefined ? [] : [route.preHandler].flat()
    route.preHandler = [refuseNonFinite, ...own]
  })
  if (config.NODE_ENV === 'production') {
    // In production the metrics and the API documentation are for operators: admin credentials (Basic or JWT).
    fastify.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0]!
      if (/^\/(metrics|docs)(\/|$)/.test(path)) await requireAdmin(request, reply)
    })
  }
  fastify.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ message: `Route ${request.method} ${request.url.split('?')[0]} not found`, code: 'PLAYFIELD_NOT_FOUND' })
  })

  // infrastructure: shared clients first, so that on close (reverse order) everything that uses them stops first
  await fastify.register(healthPlugin, { intervalMs: config.HEALTH_CHECK_INTERVAL_MS })
  await fastify.register(metricsPlugin, { enabled: config.METRICS_ENABLED && role === 'server' })
  await fastify.register(redisPlugin, { config })
  if (config.CASSANDRA_CONTACT_POINTS) {
    // Loaded only when configured: the driver is a noticeable part of start-up time.
    const { default: cassandraPlugin } = await import('./plugins/infra/cassandra.js')
    await fastify.register(cassandraPlugin, { config })
  }
  await fastify.register(queuesPlugin, { config, runWorkers: role === 'worker' ? true : undefined })
  if (role === 'server') for (const plugin of SERVER_INFRA) await fastify.register(plugin, { config })

  for (const plugin of DOMAINS) await fastify.register(plugin, { config })
  for (const plugin of JOB_DOORS) await fastify.register(plugin, { config })
  if (role === 'server') for (const plugin of [...REST_DOORS, ...GRPC_DOORS]) await fastify.register(plugin, { config })
}

/** True when a JSON schema declares a number or an integer anywhere in it. */
function declaresNumber (schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return false
  const type = (schema as { type?: unknown }).type
  if (type === 'number' || type === 'integer') return true
  if (Array.isArray(type) && (type.includes('number') || type.includes('integer'))) return true
  return Object.values(schema).some(declaresNumber)
}

function refuseNonFinite (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  for (const [part, values] of [['querystring', request.query], ['params', request.params]] as const) {
    if (values === null || typeof values !== 'object') continue
    for (const name of Object.keys(values)) {
      const value = (values as Record<string, unknown>)[name]
      if (typeof value === 'number' && !Number.isFinite(value)) {
        done(new InvalidArgumentError(`${part}/${name} must be a finite number`))
        return
      }
    }
  }
  done()
}

// Not encapsulated: the server and the tests see the decorators (redis, grpc, domain services) on the root.
export default fp(app, { name: 'playfield' })

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    clock: Clock
  }
}
