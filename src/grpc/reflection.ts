import type { PackageDefinition } from '@grpc/proto-loader'
import { ReflectionService } from '@grpc/reflection'

// Server reflection for every registered service, working around two limits of @grpc/reflection 1.0 with
// services that have no proto package (Users and ShapeService, kept package-less for wire compatibility):
// - proto-loader names the file descriptor of every package-less proto "root.proto", and reflection keeps only
//   the first file of a name, so a second package-less service vanished. src/grpc/contract.ts loads all our
//   proto files in one call, which makes one root.proto holding all of them.
// - it indexes package-less symbols with a leading dot (".Users"), so `grpcurl list` showed ".Users" and
//   `grpcurl describe Users` failed. The names are re-indexed without the dot.
// See grpc/grpc-node#2934 and #2671.

interface Implementation { services: Record<string, unknown>, symbols: Record<string, unknown> }

export function reflectionService (definitions: Iterable<PackageDefinition>): ReflectionService {
  const reflection = new ReflectionService(Object.assign({}, ...definitions))
  const impls = reflection as unknown as { v1?: Implementation, v1Alpha?: Implementation }
  for (const impl of [impls.v1, impls.v1Alpha]) {
    if (!impl?.services || !impl.symbols) continue
    for (const name of Object.keys(impl.services).filter(n => n.startsWith('.'))) {
      impl.services[name.slice(1)] = impl.services[name]
      delete impl.services[name]
    }
    for (const name of Object.keys(impl.symbols).filter(n => n.startsWith('.'))) {
      impl.symbols[name.slice(1)] ??= impl.symbols[name]
    }
  }
  return reflection
}
