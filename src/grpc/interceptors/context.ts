import { randomUUID } from 'node:crypto'
import { Metadata, ServerInterceptingCall, status as GrpcStatus, type ServerInterceptor } from '@grpc/grpc-js'
import type { FastifyBaseLogger } from 'fastify'
import type { Metrics } from '../../plugins/external/metrics.js'
import { normaliseCorrelationId } from '../../correlation.js'

export const CORRELATION_KEY = 'x-correlation-id'

/** The correlation id of a call, as the context interceptor left it in the call's metadata. */
export function correlationIdOf (metadata: Metadata): string {
  return String(metadata.get(CORRELATION_KEY)[0] ?? '')
}

/**
 * Correlation id, logging and metrics for every call: reads x-correlation-id or x-request-id (minting a UUID when
 * absent), hands it to the handler in the call metadata, echoes it in the initial and trailing metadata, and
 * logs one line per finished call with method, status code and duration.
 */
export function contextInterceptor (log: FastifyBaseLogger, metrics: Metrics | undefined): ServerInterceptor {
  return (methodDescriptor, call) => {
    const started = process.hrtime.bigint()
    let correlationId: string = randomUUID()
    const echo = (md: Metadata) => { md.set(CORRELATION_KEY, correlationId) }
    return new ServerInterceptingCall(call, {
      start (next) {
        next({
          onReceiveMetadata (metadata, mdNext) {
            correlationId = normaliseCorrelationId(metadata.get(CORRELATION_KEY)[0] ?? metadata.get('x-request-id')[0]) ?? correlationId
            metadata.set(CORRELATION_KEY, correlationId)
            mdNext(metadata)
          }
        })
      },
      sendMetadata (metadata, next) {
        echo(metadata)
        next(metadata)
      },
      sendStatus (status, next) {
        const metadata = status.metadata ?? new Metadata()
        echo(metadata)
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        const code = GrpcStatus[status.code] ?? String(status.code)
        metrics?.grpcRequests.inc({ method: methodDescriptor.path, code })
        metrics?.grpcDuration.observe({ method: methodDescriptor.path, code }, seconds)
        const line = { correlationId, method: methodDescriptor.path, code, durationMs: Math.round(seconds * 1000) }
        if (status.code === GrpcStatus.INTERNAL || status.code === GrpcStatus.UNKNOWN) log.error(line, 'grpc call failed')
        else log.info(line, 'grpc call')
        next({ ...status, metadata })
      }
    })
  }
}
