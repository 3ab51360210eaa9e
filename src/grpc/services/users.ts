import fp from 'fastify-plugin'
import type { ServerReadableStream, ServiceClientConstructor, UntypedServiceImplementation } from '@grpc/grpc-js'
import type { Config } from '../../config.js'
import { clientStream, unary } from '../handlers.js'
import { loadProto } from '../proto.js'
import type { IngestReply } from '../../plugins/users/service.js'

type UserRequest = Record<string, unknown>

export const usersProto = () => loadProto<{ Users: ServiceClientConstructor }>('user_ingest.proto')

// `Users` (no proto package, as the original): SendUserInfo and SendUserInfoClientStream. Thin: each message
// goes to the ingest session of app.users, which validates, batches and queues.
export default fp(async function usersGrpc (app, { config }: { config: Config }) {
  const { packageDefinition, grpcObject } = usersProto()
  const { users } = app

  const implementation: UntypedServiceImplementation = {
    SendUserInfo: unary<UserRequest, IngestReply>(async (request) => await users.sendOne(request)),
    SendUserInfoClientStream: clientStream(async (call: ServerReadableStream<UserRequest, IngestReply>) => {
      const session = users.ingestSession()
      // Async iteration reads the next message only after push() resolved: while a batch is being queued, or
      // the queue is far behind, grpc-js stops reading and HTTP/2 flow control holds the client back.
      for await (const message of call) {
        const flushing = session.push(message as UserRequest)
        if (flushing) await flushing
      }
      return await session.finish()
    })
  }

  app.grpc.addService(grpcObject.Users.service, implementation, {
    name: 'Users',
    packageDefinition,
    authorize: config.USERS_REQUIRE_AUTH ? app.auth.grpcBearer : undefined
  })
}, { name: 'users-grpc', dependencies: ['grpc-server', 'users', 'auth'] })
