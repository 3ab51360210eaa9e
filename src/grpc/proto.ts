import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import * as protoLoader from '@grpc/proto-loader'
import { loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js'

// proto/ is the contract. keepCase keeps the wire field names (user_name, status_code) as the original
// services and their clients use them; the generated types in src/grpc/generated/ use the same options.
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto')

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR]
}

export interface LoadedProto<T = GrpcObject> {
  packageDefinition: protoLoader.PackageDefinition
  grpcObject: T
}

// Which proto file each loaded definition came from (reflection loads them again, together).
const sourceFiles = new WeakMap<protoLoader.PackageDefinition, string>()
export const protoFileOf = (definition: protoLoader.PackageDefinition) => sourceFiles.get(definition)

export function loadProto<T = GrpcObject> (file: string): LoadedProto<T> {
  const packageDefinition = protoLoader.loadSync(join(PROTO_DIR, file), LOADER_OPTIONS)
  sourceFiles.set(packageDefinition, join(PROTO_DIR, file))
  return { packageDefinition, grpcObject: loadPackageDefinition(packageDefinition) as unknown as T }
}
