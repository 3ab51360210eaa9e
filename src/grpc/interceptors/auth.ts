import { ServerInterceptingCall, type Metadata, type ServerInterceptor } from '@grpc/grpc-js'
import { grpcStatusOf } from '../rich-status.js'

/** Checks a call's metadata; throws an UnauthenticatedError (or any PlayfieldError) to refuse the call. */
export type GrpcAuthorizer = (metadata: Metadata, method: string) => Promise<string | undefined>

export const PRINCIPAL_KEY = 'x-playfield-principal'

/** The authenticated principal the auth interceptor put on the call, if any. */
export function principalOf (metadata: Metadata): string | undefined {
  const v = metadata.get(PRINCIPAL_KEY)[0]
  return v === undefined ? undefined : String(v)
}

/**
 * Per-service authorization, before the handler sees anything. `lookup` gives the authorizer for a method path
 * (undefined: the method is public). A refused call ends with the mapped status (UNAUTHENTICATED…) and its
 * messages never reach the handler.
 */
export function authInterceptor (lookup: (path: string) => GrpcAuthorizer | undefined): ServerInterceptor {
  return (methodDescriptor, call) => {
    const authorize = lookup(methodDescriptor.path)
    return new ServerInterceptingCall(call, {
      start (next) {
        next({
          onReceiveMetadata (metadata, mdNext) {
            // A principal can only come from us, never from the client.
            metadata.remove(PRINCIPAL_KEY)
            if (!authorize) return mdNext(metadata)
            const method = methodDescriptor.path.slice(methodDescriptor.path.lastIndexOf('/') + 1)
            authorize(metadata, method).then(principal => {
              if (principal) metadata.set(PRINCIPAL_KEY, principal)
              mdNext(metadata)
            }, err => {
              call.sendStatus(grpcStatusOf(err))
            })
          }
        })
      }
    })
  }
}
