import { ServerInterceptingCall, status as GrpcStatus, type ServerInterceptor, type ServiceDefinition } from '@grpc/grpc-js'
import type { FastifyBaseLogger } from 'fastify'
import { correlationIdOf } from './context.js'
import { withRichStatus } from '../rich-status.js'

const MALFORMED = Symbol('malformed-message')

/**
 * grpc-js answers a request message it cannot decode with INTERNAL, from below the interceptors. Bytes that are not
 * a valid encoding of the request type are the client's fault, so the service's deserializers are wrapped to hand
 * such messages up as a marker, which errorInterceptor turns into INVALID_ARGUMENT.
 */
export function tolerantDeserializers (definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes)
        } catch {
          return { [MALFORMED]: true }
        }
      }
    }
  }
  return out as ServiceDefinition
}

/**
 * The safety net of the error model on the gRPC door: a handler that let an unexpected error escape ends up
 * with UNKNOWN and the raw error message; the client gets INTERNAL without internals, the log gets the details.
 * Domain errors were already mapped by the handler helpers (src/grpc/handlers.ts) through src/errors.ts.
 * It is also where every failed call gets its google.rpc.Status, whoever produced the status.
 */
export function errorInterceptor (log: FastifyBaseLogger): ServerInterceptor {
  return (methodDescriptor, call) => {
    let correlationId = ''
    return new ServerInterceptingCall(call, {
      start (next) {
        next({
          onReceiveMetadata (metadata, mdNext) {
            // The context interceptor (outermost) has already put the call's correlation id there.
            correlationId = correlationIdOf(metadata)
            mdNext(metadata)
          },
          onReceiveMessage (message, msgNext) {
            if (message && typeof message === 'object' && MALFORMED in message) {
              return call.sendStatus(withRichStatus({ code: GrpcStatus.INVALID_ARGUMENT, details: 'malformed request message: not a valid protobuf encoding of the request type' }))
            }
            msgNext(message)
          }
        })
      },
      sendStatus (status, next) {
        if (status.code === GrpcStatus.UNKNOWN || status.code === GrpcStatus.INTERNAL) {
          log.error({ correlationId, method: methodDescriptor.path, details: status.details }, 'unexpected error in grpc handler')
          return next(withRichStatus({ ...status, code: GrpcStatus.INTERNAL, details: 'internal error' }))
        }
        // Every failed call leaves with a rich status matching its code and message (./rich-status.ts).
        next(withRichStatus(status))
      }
    })
  }
}
