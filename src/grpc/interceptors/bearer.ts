import type { Metadata } from '@grpc/grpc-js'
import { UnauthenticatedError } from '../../errors.js'
import { bearerToken, type AccountsService } from '../../plugins/accounts/service.js'
import type { GrpcAuthorizer } from './auth.js'

/** `authorization: Bearer <token>` (or `Token <token>`) metadata → the token's username, else UNAUTHENTICATED. */
export function bearerAuthorizer (accounts: Pick<AccountsService, 'verifyToken'>): GrpcAuthorizer {
  return async (metadata: Metadata) => {
    const token = bearerToken(metadata.get('authorization')[0])
    if (!token) throw new UnauthenticatedError('missing metadata "authorization: Bearer <token>"')
    const username = await accounts.verifyToken(token)
    if (!username) throw new UnauthenticatedError('invalid or revoked token')
    return username
  }
}
