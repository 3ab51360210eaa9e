import fp from 'fastify-plugin'
import { Server, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'
import { HealthImplementation, type ServingStatus } from 'grpc-health-check'
import type { Config } from '../config.js'
import { healthPackageDefinition } from './contract.js'
import { serverCredentials } from './credentials.js'
import { reflectionService } from './reflection.js'
import { contextInterceptor } from './interceptors/context.js'
import { errorInterceptor, tolerantDeserializers } from './interceptors/errors.js'
import { authInterceptor, type GrpcAuthorizer } from './interceptors/auth.js'

export interface GrpcServiceOptions {
  /** Fully qualified service name as in the proto (`leaderboard.LeaderBoard`, `Users`, `ShapeService`). */
  name: string
  /** The loaded proto this service comes from, so reflection can describe it. */
  packageDefinition: PackageDefinition
  /** Refuses calls before the handler runs; absent = no auth. */
  authorize?: GrpcAuthorizer
  /** Method names (as in the proto) that need no auth even when `authorize` is set. */
  publicMethods?: string[]
}

export interface GrpcRegistry {
  readonly server: Server
  /** The bound port (after ready); GRPC_PORT=0 binds a free one. */
  readonly port: number
  addService (definition: ServiceDefinition, implementation: UntypedServiceImplementation,
    options: GrpcServiceOptions): void
  /** Every method registered by the domains (path and streaming kind), e.g. for the failure suite. */
  methods (): Array<{ path: string, service: string, requestStream: boolean, responseStream: boolean }>
}

declare module 'fastify' {
  interface FastifyInstance { grpc: GrpcRegistry }
}

export default fp(async function grpcServerPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'grpc' })
  const authorizers = new Map<string, GrpcAuthorizer | undefined>()
  // Services of one proto set share its definition (src/grpc/contract.ts): reflection gets each once.
  const packageDefinitions = new Set<PackageDefinition>([healthPackageDefinition])

  const server = new Server({
    interceptors: [
      contextInterceptor(log, app.metrics),
      errorInterceptor(log),
      authInterceptor((path) => authorizers.get(path))
    ],
    // Accept the ping rates common clients use and keep idle connections of long-lived streams alive.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 4 * 1024 * 1024
  })

  // grpc.health.v1 (grpc-health-check): every service, and '' for the whole server, follows the process
  // readiness from app.health. Statuses are set only when readiness changes, so a Watch sees each change once.
  const health = new HealthImplementation()
  const servingStatus = (): ServingStatus => app.health.isReady() ? 'SERVING' : 'NOT_SERVING'
  const serviceNames = new Set<string>()
  let published = servingStatus()
  const publish = () => {
    const status = servingStatus()
    if (status === published) return
    published = status
    for (const name of serviceNames) health.setStatus(name, status)
  }
  const addHealthStatus = (name: string) => {
    serviceNames.add(name)
    health.setStatus(name, published)
  }
  addHealthStatus('')
  // Open Watch streams are tracked so that shutdown can end them: they would otherwise hold it open.
  const watches = new Set<ServerWritableStream<unknown, unknown>>()
  health.addToServer({
    addService: (definition, implementation) => {
      const watch = implementation.watch as (call: ServerWritableStream<unknown, unknown>) => void
      server.addService(definition as unknown as ServiceDefinition, {
        ...implementation,
        watch (call: ServerWritableStream<unknown, unknown>) {
          watches.add(call)
          call.on('cancelled', () => watches.delete(call))
          call.on('close', () => watches.delete(call))
          watch(call)
        }
      })
    }
  })
  // Once shutdown ended the Watch streams nothing may write to them (readiness can't come back by then anyway).
  let shutDown = false
  app.health.onChange(() => { if (!shutDown) publish() })

  let port = -1
  const methods: ReturnType<GrpcRegistry['methods']> = []
  const registry: GrpcRegistry = {
    methods: () => [...methods],
    server,
    get port () { return port },
    addService (definition, implementation, options) {
      server.addService(tolerantDeserializers(definition), implementation)
      addHealthStatus(options.name)
      packageDefinitions.add(options.packageDefinition)
      const open = new Set(options.publicMethods ?? [])
      for (const [methodName, method] of Object.entries(definition)) {
        const originalName = (method as { originalName?: string }).originalName ?? methodName
        const isPublic = open.has(methodName) || open.has(originalName) || open.has(method.path.slice(method.path.lastIndexOf('/') + 1))
        authorizers.set(method.path, isPublic ? undefined : options.authorize)
        const { path, requestStream, responseStream } = method
        methods.push({ path, service: options.name, requestStream, responseStream })
      }
    }
  }
  app.decorate('grpc', registry)

  // Bind once every plugin has added its services (onReady runs after registration is complete).
  app.addHook('onReady', async () => {
    reflectionService(packageDefinitions).addToServer(server)
    const creds = await serverCredentials({
      cert: config.GRPC_TLS_CERT, key: config.GRPC_TLS_KEY, clientCa: config.GRPC_TLS_CLIENT_CA
    })
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${config.HOST}:${config.GRPC_PORT}`, creds, (err, bound) => {
        if (err) reject(new Error(`cannot bind gRPC on ${config.HOST}:${config.GRPC_PORT}: ${err.message}`))
        else resolve(bound)
      })
    })
    log.info({ port, tls: Boolean(config.GRPC_TLS_CERT), mutualTls: Boolean(config.GRPC_TLS_CLIENT_CA) }, 'gRPC listening')
  })

  // Shutdown starts in preClose, alongside the HTTP server: NOT_SERVING (via health), Watch streams ended so they
  // don't hold the shutdown open, then no new calls while in-flight ones finish, bounded by SHUTDOWN_TIMEOUT_MS.
  let stopped: Promise<void> | undefined
  app.addHook('preClose', async () => {
    publish()
    shutDown = true
    for (const call of watches) call.end()
    watches.clear()
    if (port < 0) return
    stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        log.warn('gRPC calls still running at SHUTDOWN_TIMEOUT_MS, forcing shutdown')
        server.forceShutdown()
        resolve()
      }, config.SHUTDOWN_TIMEOUT_MS)
      server.tryShutdown(() => { clearTimeout(timer); resolve() })
    })
  })
  app.addHook('onClose', async () => {
    if (stopped) await stopped
    else server.forceShutdown()
  })
}, { name: 'grpc-server', dependencies: ['health', 'metrics'] })
