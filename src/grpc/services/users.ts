import fp from 'fastify-plugin'
import type { ServerReadableStream } from '@grpc/grpc-js'
import type { Config } from '../../config.js'
import { bearerAuthorizer } from '../interceptors/bearer.js'
import { packageDefinition, Users } from '../contract.js'
import { clientStream, unary, type ServiceHandlers } from '../handlers.js'
import { readAll } from '../streams.js'
import type { UsersHandlers } from '../generated/Users.js'
import type { UserRequest__Output as UserRequest } from '../generated/UserRequest.js'
import type { IngestReply, UsersService } from '../../plugins/users/service.js'

type Session = ReturnType<UsersService['ingestSession']>
// The service checks every field of a record itself (records.ts): to it a message is an untrusted object.
const untrusted = (message: UserRequest) => message as unknown as Record<string, unknown>

async function ingest<T> (call: ServerReadableStream<T, unknown>, session: Session,
  take: (message: T) => Promise<void> | undefined): Promise<IngestReply> {
  await readAll(call, take)
  return await session.finish()
}

// `Users` (no proto package, as the original): SendUserInfo and SendUserInfoClientStream, and the batched
// SendUserBatchStream. Thin: each user goes to the ingest session of app.users, which validates, batches and queues.
export default fp(async function usersGrpc (app, { config }: { config: Config }) {
  const { users } = app

  const implementation = {
    SendUserInfo: unary(async (request) => await users.sendOne(untrusted(request))),
    SendUserInfoClientStream: clientStream(async (call) => {
      const session = users.ingestSession()
      return await ingest(call, session, (message) => session.push(untrusted(message)))
    }),
    SendUserBatchStream: clientStream(async (call) => {
      const session = users.ingestSession()
      return await ingest(call, session, (message) => {
        const list = message.users ?? []
        for (let i = 0; i < list.length; i++) {
          const waiting = session.push(untrusted(list[i]!))
          // Rare (once per few queued batches): finish this message after the wait, then read on.
          if (waiting) return waiting.then(() => pushFrom(session, list, i + 1))
        }
        return undefined
      })
    })
  } satisfies ServiceHandlers<UsersHandlers>

  app.grpc.addService(Users.service, implementation, {
    name: 'Users',
    packageDefinition,
    // The original ingest clients send no credentials: the refusal says how to get a token and how an operator
    // lets them in unchanged.
    authorize: config.USERS_REQUIRE_AUTH
      ? bearerAuthorizer(app.auth, 'or, to accept clients without credentials (as the original service did), ' +
        'an operator starts the server with USERS_REQUIRE_AUTH=false')
      : undefined
  })
}, { name: 'users-grpc', dependencies: ['grpc-server', 'users', 'accounts'] })

async function pushFrom (session: Session, list: UserRequest[], from: number): Promise<void> {
  for (let i = from; i < list.length; i++) {
    const waiting = session.push(untrusted(list[i]!))
    if (waiting) await waiting
  }
}
