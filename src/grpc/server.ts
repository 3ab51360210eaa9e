import { readFile } from 'node:fs/promises'
import fp from 'fastify-plugin'
import {
  Server, ServerCredentials, status as GrpcStatus,
  type ServiceDefinition, type UntypedServiceImplementation, type ServerWritableStream
} from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { protoPath as healthProtoPath, service as healthServiceDefinition } from 'grpc-health-check'
import type { Config } from '../config.js'
import { reflectionService } from './reflection.js'
import { contextInterceptor } from './interceptors/context.js'
import { errorInterceptor, tolerantDeserializers } from './interceptors/errors.js'
import { authInterceptor, type GrpcAuthorizer } from './interceptors/auth.js'

export interface GrpcServiceOptions {
  /** Fully qualified service name as in the proto (`leaderboard.LeaderBoard`, `Users`, `ShapeService`). */
  name: string
  /** The loaded proto this service comes from, so reflection can describe it. */
  packageDefinition: protoLoader.PackageDefinition
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

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

export default fp(async function grpcServerPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'grpc' })
  const authorizers = new Map<string, GrpcAuthorizer | undefined>()
  const packageDefinitions: protoLoader.PackageDefinition[] = []
  const serviceNames = new Set<string>([''])

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

  // grpc.health.v1: every service (and '') follows the process readiness from app.health.
  type WatchCall = ServerWritableStream<{ service: string }, { status: ServingStatus }>
  type Watcher = { service: string, last?: ServingStatus, call: WatchCall }
  const watchers = new Set<Watcher>()
  const notify = (w: Watcher) => {
    const status = statusOf(w.service)
    if (status !== w.last) {
      w.last = status
      w.call.write({ status })
    }
  }
  const statusOf = (service: string): ServingStatus =>
    serviceNames.has(service) ? (app.health.isReady() ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN'
  server.addService(healthServiceDefinition as unknown as ServiceDefinition, {
    check (call: any, callback: any) {
      const s = statusOf(call.request.service)
      if (s === 'SERVICE_UNKNOWN') return callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service "${call.request.service}"` })
      return callback(null, { status: s })
    },
    watch (call: ServerWritableStream<{ service: string }, { status: ServingStatus }>) {
      const entry: Watcher = { service: call.request.service, call }
      watchers.add(entry)
      call.on('cancelled', () => watchers.delete(entry))
      call.on('close', () => watchers.delete(entry))
      notify(entry)
    },
    list (_call: any, callback: any) {
      const statuses: Record<string, { status: ServingStatus }> = {}
      for (const s of serviceNames) statuses[s] = { status: statusOf(s) }
      callback(null, { statuses })
    }
  })
  app.health.onChange(() => {
    for (const w of watchers) notify(w)
  })
  packageDefinitions.push(protoLoader.loadSync(healthProtoPath, { keepCase: true }))

  let port = -1
  const methods: ReturnType<GrpcRegistry['methods']> = []
  const registry: GrpcRegistry = {
    methods: () => [...methods],
    server,
    get port () { return port },
    addService (definition, implementation, options) {
      server.addService(tolerantDeserializers(definition), implementation)
      serviceNames.add(options.name)
      packageDefinitions.push(options.packageDefinition)
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

  async function credentials (): Promise<ServerCredentials> {
    if (!config.GRPC_TLS_CERT || !config.GRPC_TLS_KEY) return ServerCredentials.createInsecure()
    const [cert, key, ca] = await Promise.all([
      readFile(config.GRPC_TLS_CERT), readFile(config.GRPC_TLS_KEY),
      config.GRPC_TLS_CLIENT_CA ? readFile(config.GRPC_TLS_CLIENT_CA) : Promise.resolve(null)
    ])
    return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null)
  }

  // Bind once every plugin has added its services (onReady runs after registration is complete).
  app.addHook('onReady', async () => {
    reflectionService(packageDefinitions).addToServer(server)
    const creds = await credentials()
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
    for (const w of watchers) {
      notify(w)
      w.call.end()
    }
    watchers.clear()
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
