import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { Users } from '../../src/grpc/contract.js'

// A bare grpc-js process, the gRPC baseline: bench.Echo/Echo (a bidi stream echoing each message) and the Users
// client streams of proto/user_ingest.proto answered by a handler that only counts messages (no validation, no
// queue). Binds 127.0.0.1:PORT (0: any free port) and prints "ready <port>".

const here = fileURLToPath(new URL('.', import.meta.url))
const echoDef = protoLoader.loadSync(join(here, '..', 'echo.proto'), { keepCase: true })
const echoPkg = grpc.loadPackageDefinition(echoDef) as any

const server = new grpc.Server()
server.addService(echoPkg.bench.Echo.service, {
  echo (call: grpc.ServerDuplexStream<any, any>) {
    call.on('data', (m) => call.write(m))
    call.on('end', () => call.end())
  }
})
function counting (perMessage: (m: any) => number) {
  return (call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) => {
    let received = 0
    call.on('data', (m) => { received += perMessage(m) })
    call.on('end', () => callback(null, { status: true, message: 'ok', received, accepted: received }))
  }
}
server.addService(Users.service, {
  SendUserInfo: (_call: unknown, callback: grpc.sendUnaryData<any>) =>
    callback(null, { status: true, message: 'ok', received: 1, accepted: 1 }),
  SendUserInfoClientStream: counting(() => 1),
  SendUserBatchStream: counting((m) => m.users.length)
})
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`127.0.0.1:${process.env.PORT ?? 0}`, grpc.ServerCredentials.createInsecure(),
    (err, p) => err ? reject(err) : resolve(p)))
process.stdout.write(`ready ${port}\n`)
process.once('SIGTERM', () => { server.forceShutdown(); process.exit(0) })
