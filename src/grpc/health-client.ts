import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { protoPath } from 'grpc-health-check'

// A grpc.health.v1 client constructor for tests (and the CLI's health checks use the same proto).
const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true, enums: String, defaults: true })) as any
export const HealthClient = pkg.grpc.health.v1.Health as ServiceClientConstructor
