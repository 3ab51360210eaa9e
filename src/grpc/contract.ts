import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import * as protoLoader from '@grpc/proto-loader'
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js'
import { protoPath as healthProtoPath } from 'grpc-health-check'
import type { ProtoGrpcType as LeaderboardProto } from './generated/leaderboard.js'
import type { ProtoGrpcType as ShapesProto } from './generated/shapes.js'
import type { ProtoGrpcType as UsersProto } from './generated/user_ingest.js'

// proto/ is the contract, loaded here once for the server, reflection, the CLI, the tests and the bench.
// keepCase keeps the wire field names (user_name, status_code) as the original services and their clients use
// them; `npm run proto:gen` generates src/grpc/generated/ with the same options, so the types below match what
// grpc-js hands to handlers and clients.
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto')
export const PROTO_FILES = ['leaderboard.proto', 'shapes.proto', 'user_ingest.proto']

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR]
}

// One call for every file: proto-loader names the descriptor of each package-less proto (Users, ShapeService)
// "root.proto", and reflection keeps one file per name, so loading them apart hid all but one (see reflection.ts).
export const packageDefinition = protoLoader.loadSync(PROTO_FILES.map(f => join(PROTO_DIR, f)), LOADER_OPTIONS)

export type ContractGrpcType = LeaderboardProto & ShapesProto & UsersProto
export const grpcObject = loadPackageDefinition(packageDefinition) as unknown as ContractGrpcType

// The generated constructor types leave out `serviceName`, which grpc-js sets: with it they are also plain
// ServiceClientConstructors (what helpers that take any service want).
type Service<C> = C & ServiceClientConstructor

/** Service constructors: `.service` is the server definition, `new X(address, credentials)` a typed client. */
export const LeaderBoard = grpcObject.leaderboard.LeaderBoard as Service<ContractGrpcType['leaderboard']['LeaderBoard']>
export const Users = grpcObject.Users as Service<ContractGrpcType['Users']>
export const ShapeService = grpcObject.ShapeService as Service<ContractGrpcType['ShapeService']>

// grpc.health.v1 comes with grpc-health-check (which serves it); clients and reflection use the same file.
export const healthPackageDefinition = protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS)
export const Health = (loadPackageDefinition(healthPackageDefinition) as unknown as {
  grpc: { health: { v1: { Health: ServiceClientConstructor } } }
}).grpc.health.v1.Health
