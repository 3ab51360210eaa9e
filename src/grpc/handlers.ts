import type { ServerUnaryCall, sendUnaryData, ServerReadableStream, ServerWritableStream, ServerDuplexStream } from '@grpc/grpc-js'
import { toGrpcError } from '../errors.js'

// Handlers are thin: they parse, call the domain service and map. These helpers turn async functions into
// grpc-js handlers so that every error goes through the one mapping in src/errors.ts and the callback is
// called exactly once.

export function unary<Req, Res> (fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call.request, call).then(
      (res) => { callback(null, res) },
      (err) => { callback(toGrpcError(err)) }
    )
  }
}

export function clientStream<Req, Res> (fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call).then(
      (res) => { callback(null, res) },
      (err) => { callback(toGrpcError(err)) }
    )
  }
}

type AnyWritable = ServerWritableStream<any, any> | ServerDuplexStream<any, any>

/** Ends a server-side stream with the mapped status of `err` (unless the client already went away). */
export function failStream (call: AnyWritable, err: unknown): void {
  if (call.cancelled || call.destroyed) return
  call.emit('error', toGrpcError(err))
}

/** Writes honouring backpressure: resolves once the message is handed to the transport or buffered below the mark. */
export async function write (call: AnyWritable, message: unknown): Promise<void> {
  if (call.write(message)) return
  await new Promise<void>((resolve) => {
    const done = () => { call.off('drain', done); call.off('cancelled', done); call.off('close', done); resolve() }
    call.on('drain', done)
    call.on('cancelled', done)
    call.on('close', done)
  })
}
