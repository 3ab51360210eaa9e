import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { Config } from '../../config.js'
import { RateLimitedError } from '../../errors.js'
import { rateLimitStore } from '../infra/counter.js'

// Available to routes that opt in with `config: { rateLimit: { max, timeWindow, keyGenerator } }`.
// Counters live in Redis so every process behind a load balancer shares them; it is the same counter the login
// limits of both doors use (src/plugins/infra/counter.ts).
export default fp(async function rateLimitPlugin (app, { config }: { config: Config }) {
  await app.register(rateLimit, {
    global: false,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    store: rateLimitStore(app.redis, 'auth:rl:') as never,
    // A Redis outage must not turn into 500s on every limited route.
    skipOnError: true,
    errorResponseBuilder: (_request, context) => new RateLimitedError(`rate limit exceeded, retry in ${context.after}`)
  })
}, { name: 'rate-limit', dependencies: ['redis'] })
