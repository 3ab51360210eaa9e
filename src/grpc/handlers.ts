import type { handleClientStreamingCall, handleUnaryCall, ServerReadableStream, ServerUnaryCall } from '@grpc/grpc-js'
import { grpcStatusOf } from './rich-status.js'

// Handlers are thin: they parse, call the domain service and map. These helpers turn async functions into
// grpc-js handlers so that every error goes through the one mapping in src/errors.ts (with its rich status,
// ./rich-status.ts) and the callback is called exactly once. Their types are grpc-js's own handler types, so a
// handler object built with them is checked against the generated service interface (`satisfies
// LeaderBoardHandlers`); request and response types are then inferred from the proto. Stream helpers: ./streams.ts.

export function unary<Req, Res> (fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>):
handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => { callback(null, res) },
      (err) => { callback(grpcStatusOf(err)) }
    )
  }
}

export function clientStream<Req, Res> (fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>):
handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => { callback(null, res) },
      (err) => { callback(grpcStatusOf(err)) }
    )
  }
}

/**
 * A generated handler interface (LeaderBoardHandlers…) without the index signature it inherits from grpc-js, so
 * that `satisfies ServiceHandlers<LeaderBoardHandlers>` also refuses a method the proto does not have.
 */
export type ServiceHandlers<H> = { [K in keyof H as string extends K ? never : K]: H[K] }
