import type { Metadata } from '@grpc/grpc-js'
import { UnauthenticatedError } from '../../errors.js'
import { bearerToken, type AccountsService } from '../../plugins/accounts/service.js'
import type { GrpcAuthorizer } from './auth.js'

/** How a client gets a token, appended to every refusal so that it can act on it. */
export const HOW_TO_AUTHENTICATE = 'get a token from leaderboard.LeaderBoard/AuthenticateUser (data = base64 of ' +
  '"user:password") or POST /tokens, and send it as metadata "authorization: Bearer <token>"'

/**
 * `authorization: Bearer <token>` (or `Token <token>`) metadata → the token's username, else UNAUTHENTICATED.
 * `operatorHint` is added to the message where an operator can lift the requirement (e.g. USERS_REQUIRE_AUTH).
 */
export function bearerAuthorizer (accounts: Pick<AccountsService, 'verifyToken'>, operatorHint?: string): GrpcAuthorizer {
  const tail = `: ${HOW_TO_AUTHENTICATE}${operatorHint ? `; ${operatorHint}` : ''}`
  return async (metadata: Metadata) => {
    const token = bearerToken(metadata.get('authorization')[0])
    if (!token) {
      throw new UnauthenticatedError(`missing metadata "authorization: Bearer <token>"${tail}`, undefined,
        { reason: 'TOKEN_MISSING' })
    }
    const username = await accounts.verifyToken(token)
    if (!username) throw new UnauthenticatedError(`invalid or revoked token${tail}`, undefined, { reason: 'TOKEN_INVALID' })
    return username
  }
}
