import { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'

// Readiness of the process, shared by both doors: GET /health/ready and grpc.health.v1.
// Infra plugins register a probe per dependency; the state is SERVING only while every probe answers
// and shutdown has not begun. A poller keeps the state fresh so gRPC Watch streams see changes promptly.

export type Probe = () => Promise<unknown>
export interface HealthReport { ready: boolean, shuttingDown: boolean, checks: Record<string, 'up' | 'down'> }

const PROBE_TIMEOUT_MS = 750

export async function withTimeout (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([p, new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

export function createHealth ({ intervalMs }: { intervalMs: number }) {
  const probes = new Map<string, Probe>()
  const events = new EventEmitter()
  let ready = false
  let shuttingDown = false
  let timer: NodeJS.Timeout | undefined
  let lastChecks: Record<string, 'up' | 'down'> = {}

  function set (next: boolean) {
    const value = next && !shuttingDown
    if (value !== ready) {
      ready = value
      events.emit('change', ready)
    }
  }

  async function check (): Promise<HealthReport> {
    const checks: Record<string, 'up' | 'down'> = {}
    await Promise.all([...probes].map(async ([name, probe]) => {
      try {
        await withTimeout(probe(), PROBE_TIMEOUT_MS)
        checks[name] = 'up'
      } catch {
        checks[name] = 'down'
      }
    }))
    lastChecks = checks
    set(Object.values(checks).every(s => s === 'up'))
    return { ready, shuttingDown, checks }
  }

  return {
    addProbe (name: string, probe: Probe) { probes.set(name, probe) },
    check,
    isReady: () => ready,
    isShuttingDown: () => shuttingDown,
    lastChecks: () => lastChecks,
    /** Called with the new readiness whenever it changes. */
    onChange (listener: (ready: boolean) => void) { events.on('change', listener) },
    start () {
      if (timer) return
      const tick = () => {
        check().catch(() => {}).finally(() => { if (timer) timer = setTimeout(tick, intervalMs).unref() })
      }
      timer = setTimeout(tick, 0).unref()
    },
    /** First step of shutdown: report not-ready on both doors before anything stops. */
    beginShutdown () {
      shuttingDown = true
      set(false)
      clearTimeout(timer)
      timer = undefined
    }
  }
}

export type Health = ReturnType<typeof createHealth>

declare module 'fastify' {
  interface FastifyInstance { health: Health }
}

export default fp(async function healthPlugin (app, opts: { intervalMs: number }) {
  const health = createHealth(opts)
  app.decorate('health', health)
  // The first check runs once every plugin has registered its probe.
  app.addHook('onReady', async () => {
    await health.check()
    health.start()
  })
  app.addHook('preClose', async () => { health.beginShutdown() })
}, { name: 'health' })
