import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'

// Prometheus metrics for both doors. A registry per app instance (tests build many apps in one process).

export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'playfield_' })
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
  return {
    registry,
    httpRequests: new Counter({
      name: 'playfield_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['method', 'route', 'status'], registers: [registry]
    }),
    httpDuration: new Histogram({
      name: 'playfield_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'], buckets, registers: [registry]
    }),
    grpcRequests: new Counter({
      name: 'playfield_grpc_requests_total', help: 'gRPC calls by method and status code', labelNames: ['method', 'code'], registers: [registry]
    }),
    grpcDuration: new Histogram({
      name: 'playfield_grpc_request_duration_seconds', help: 'gRPC call latency (whole call, streams included)', labelNames: ['method', 'code'], buckets, registers: [registry]
    })
  }
}

export type Metrics = ReturnType<typeof createMetrics>

declare module 'fastify' {
  interface FastifyInstance { metrics: Metrics }
}

export default fp(async function metricsPlugin (app, { enabled }: { enabled: boolean }) {
  const metrics = createMetrics()
  app.decorate('metrics', metrics)
  if (!enabled) return

  // Synchronous (no promise per request): this hook runs on every response.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the raw URL, keeps label cardinality bounded.
    const route = request.routeOptions.url ?? 'unmatched'
    const labels = { method: request.method, route, status: String(reply.statusCode) }
    metrics.httpRequests.inc(labels)
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000)
    done()
  })

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType)
    return await metrics.registry.metrics()
  })
}, { name: 'metrics' })
