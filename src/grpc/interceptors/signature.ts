import { createHash, timingSafeEqual } from 'node:crypto'
import type { Metadata } from '@grpc/grpc-js'
import { UnauthenticatedError } from '../../errors.js'
import type { GrpcAuthorizer } from './auth.js'

export const SIGNATURE_KEY = 'x-signature'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Constant-time comparison: both sides are hashed first so their lengths match and reveal nothing. */
export function signatureMatches (presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected))
}

/** Shared-secret check of the `x-signature` metadata (the original ShapeService's scheme). */
export function signatureAuthorizer (expected: string, principal = 'signature'): GrpcAuthorizer {
  return async (metadata: Metadata) => {
    const presented = metadata.get(SIGNATURE_KEY)[0]
    if (presented === undefined || presented === '') throw new UnauthenticatedError(`missing metadata "${SIGNATURE_KEY}"`)
    if (!signatureMatches(String(presented), expected)) throw new UnauthenticatedError(`invalid "${SIGNATURE_KEY}"`)
    return principal
  }
}
