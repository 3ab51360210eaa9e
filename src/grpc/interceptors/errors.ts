import { ServerInterceptingCall, status as GrpcStatus, type ServerInterceptor } from '@grpc/grpc-js'
import type { FastifyBaseLogger } from 'fastify'

/**
 * The safety net of the error model on the gRPC door: a handler that let an unexpected error escape ends up
 * with UNKNOWN and the raw error message; the client gets INTERNAL without internals, the log gets the details.
 * Domain errors were already mapped by the handler helpers (src/grpc/handlers.ts) through src/errors.ts.
 */
export function errorInterceptor (log: FastifyBaseLogger): ServerInterceptor {
  return (methodDescriptor, call) => new ServerInterceptingCall(call, {
    sendStatus (status, next) {
      if (status.code === GrpcStatus.UNKNOWN || status.code === GrpcStatus.INTERNAL) {
        log.error({ method: methodDescriptor.path, details: status.details }, 'unexpected error in grpc handler')
        return next({ ...status, code: GrpcStatus.INTERNAL, details: 'internal error' })
      }
      next(status)
    }
  })
}
