import fp from 'fastify-plugin'
import type { ServerReadableStream, ServiceClientConstructor, UntypedServiceImplementation } from '@grpc/grpc-js'
import type { Config } from '../../config.js'
import { clientStream, unary } from '../handlers.js'
import { loadProto } from '../proto.js'
import { bearerAuthorizer } from '../interceptors/bearer.js'
import type { IngestReply, UsersService } from '../../plugins/users/service.js'

type UserRequest = Record<string, unknown>
type UserBatch = { users?: UserRequest[] }
type Session = ReturnType<UsersService['ingestSession']>

export const usersProto = () => loadProto<{ Users: ServiceClientConstructor }>('user_ingest.proto')

/**
 * Feeds every message of a client stream to `take` and resolves at the end of the stream. While `take` returns a
 * promise (a batch is being queued, the queue is far behind) the stream is paused: grpc-js stops reading and
 * HTTP/2 flow control holds the client back. 'data' events rather than async iteration: no promise per message.
 */
function readAll<T> (call: ServerReadableStream<T, IngestReply>, take: (message: T) => Promise<void> | undefined):
Promise<void> {
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
    call.on('data', (message: T) => {
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
    // A cancelled call gets no answer; ending the read lets the handler settle (its batches stay queued).
    call.once('cancelled', () => fail(new Error('call cancelled by the client')))
  })
}

async function ingest<T> (call: ServerReadableStream<T, IngestReply>, session: Session,
  take: (message: T) => Promise<void> | undefined): Promise<IngestReply> {
  await readAll(call, take)
  return await session.finish()
}

// `Users` (no proto package, as the original): SendUserInfo and SendUserInfoClientStream, and the batched
// SendUserBatchStream. Thin: each user goes to the ingest session of app.users, which validates, batches and queues.
export default fp(async function usersGrpc (app, { config }: { config: Config }) {
  const { packageDefinition, grpcObject } = usersProto()
  const { users } = app

  const implementation: UntypedServiceImplementation = {
    SendUserInfo: unary<UserRequest, IngestReply>(async (request) => await users.sendOne(request)),
    SendUserInfoClientStream: clientStream(async (call: ServerReadableStream<UserRequest, IngestReply>) => {
      const session = users.ingestSession()
      return await ingest(call, session, (message) => session.push(message))
    }),
    SendUserBatchStream: clientStream(async (call: ServerReadableStream<UserBatch, IngestReply>) => {
      const session = users.ingestSession()
      return await ingest(call, session, (message) => {
        const list = message.users ?? []
        for (let i = 0; i < list.length; i++) {
          const waiting = session.push(list[i]!)
          // Rare (once per few queued batches): finish this message after the wait, then read on.
          if (waiting) return waiting.then(() => pushFrom(session, list, i + 1))
        }
        return undefined
      })
    })
  }

  app.grpc.addService(grpcObject.Users.service, implementation, {
    name: 'Users',
    packageDefinition,
    authorize: config.USERS_REQUIRE_AUTH ? bearerAuthorizer(app.auth) : undefined
  })
}, { name: 'users-grpc', dependencies: ['grpc-server', 'users', 'accounts'] })

async function pushFrom (session: Session, list: UserRequest[], from: number): Promise<void> {
  for (let i = from; i < list.length; i++) {
    const waiting = session.push(list[i]!)
    if (waiting) await waiting
  }
}
