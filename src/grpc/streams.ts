import type {
  ClientDuplexStream, ClientWritableStream, ServerDuplexStream, ServerReadableStream, ServerWritableStream
} from '@grpc/grpc-js'
import { grpcStatusOf } from './rich-status.js'

// Every stream helper of both ends of the gRPC door. The rule they share (STYLE.md): a writer honours
// backpressure, waiting for 'drain' whenever write() returns false; grpc-js slows to a crawl when a call
// queues a great many unsent messages.

export type ServerWritable<M = any> = ServerWritableStream<any, M> | ServerDuplexStream<any, M>
export type ServerReadable<M> = ServerReadableStream<M, any> | ServerDuplexStream<M, any>

/** Ends a server-side stream with the mapped status of `err` (unless the client already went away). */
export function failStream (call: ServerWritable, err: unknown): void {
  if (call.cancelled || call.destroyed) return
  call.emit('error', grpcStatusOf(err))
}

/** Writes honouring backpressure: resolves once the message is handed to the transport or buffered below the mark. */
export async function write<M> (call: ServerWritable<M>, message: M): Promise<void> {
  if (call.write(message)) return
  await new Promise<void>((resolve) => {
    const done = () => { call.off('drain', done); call.off('cancelled', done); call.off('close', done); resolve() }
    call.on('drain', done)
    call.on('cancelled', done)
    call.on('close', done)
  })
}

/**
 * Streams `source` to the client, one message per item, then ends the call. A client that goes away ends the
 * loop, which returns the source (a generator paging through storage stops there); a fault of the source ends
 * the call with its mapped status after `onFault` saw it.
 */
export async function writeAll<T, M> (call: ServerWritable<M>, source: AsyncIterable<T>, toMessage: (item: T) => M,
  onFault: (err: unknown) => void = () => {}): Promise<void> {
  try {
    for await (const item of source) {
      if (call.cancelled) break
      await write(call, toMessage(item))
      if (call.cancelled) break
    }
    if (!call.cancelled) call.end()
  } catch (err) {
    if (call.cancelled) return
    onFault(err)
    failStream(call, err)
  }
}

/**
 * The messages of a client stream as an async iterable. destroyOnReturn: false, because a plain for-await
 * destroys the stream once the client half-closes, which on a duplex call also kills the writable side, so the
 * status would never be sent.
 */
export async function * messages<M> (call: ServerReadable<M>): AsyncGenerator<M> {
  for await (const message of call.iterator({ destroyOnReturn: false })) yield message as M
}

/**
 * Feeds every message of a client stream to `take` and resolves at the end of the stream. While `take` returns a
 * promise the stream is paused: grpc-js stops reading and HTTP/2 flow control holds the client back. 'data'
 * events rather than async iteration: no promise per message, for streams of many small messages.
 */
export function readAll<M> (call: ServerReadable<M>, take: (message: M) => Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false
    // The message being waited on: 'end' can come while the stream is paused on its last message.
    let pending: Promise<void> | undefined
    const fail = (err: unknown) => {
      if (failed) return
      failed = true
      call.pause()
      reject(err)
    }
    call.on('data', (message: M) => {
      if (failed) return
      let waiting: Promise<void> | undefined
      try {
        waiting = take(message)
      } catch (err) {
        return fail(err)
      }
      if (waiting) {
        call.pause()
        pending = waiting.then(() => {
          pending = undefined
          if (!failed) call.resume()
        }, fail)
      }
    })
    call.once('end', () => {
      if (!pending) return failed ? undefined : resolve()
      pending.then(() => { if (!failed) resolve() }, () => {})
    })
    call.once('error', fail)
    // A cancelled call gets no answer; ending the read lets the handler settle.
    call.once('cancelled', () => fail(new Error('call cancelled by the client')))
  })
}

/**
 * Client side of the same rule: writes, and when write() asks for it waits for 'drain', or for the call's status
 * (a finished call never drains). `finished` tells whether the status already came, so the wait never starts late.
 */
export async function send<M> (call: ClientWritableStream<M> | ClientDuplexStream<M, unknown>, message: M,
  finished: () => boolean = () => false): Promise<void> {
  if (call.write(message)) return
  await new Promise<void>((resolve) => {
    if (finished()) return resolve()
    const done = () => { call.off('drain', done); call.off('status', done); resolve() }
    call.on('drain', done)
    call.on('status', done)
  })
}
