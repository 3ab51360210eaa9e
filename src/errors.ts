import { status as GrpcStatus } from '@grpc/grpc-js'

// The one error model. Domain code throws these; REST and gRPC each map them here, once.
// Anything that is not a PlayfieldError (or a Fastify client error) is a fault: 500 / INTERNAL, no internals.

/**
 * What a client can act on beyond the message. gRPC carries it in the rich status (src/grpc/rich-status.ts):
 * `field` becomes a BadRequest.FieldViolation, `reason` the ErrorInfo reason.
 */
export interface ErrorHints {
  /** The request field at fault (AIP-193 FieldViolation.field), e.g. `page` or `name`. */
  field?: string
  /** UPPER_SNAKE_CASE cause, more specific than `code` (ErrorInfo.reason); default: `code`. */
  reason?: string
  /**
   * The gRPC status message when an original contract fixes it (its clients compare it literally); the human
   * message then goes into the FieldViolation description. REST always sends the human message.
   */
  grpcMessage?: string
}

export class PlayfieldError extends Error {
  constructor (
    message: string,
    readonly statusCode: number,
    readonly grpcCode: GrpcStatus,
    readonly code: string,
    readonly details?: unknown,
    readonly hints: ErrorHints = {}
  ) {
    super(message)
    this.name = new.target.name
  }
}

export class InvalidArgumentError extends PlayfieldError {
  constructor (message: string, details?: unknown, hints?: ErrorHints) {
    super(message, 400, GrpcStatus.INVALID_ARGUMENT, 'PLAYFIELD_INVALID_ARGUMENT', details, hints)
  }
}

export class UnauthenticatedError extends PlayfieldError {
  /** `challenge` becomes the WWW-Authenticate header of the 401 (e.g. 'Basic realm="playfield"'). */
  constructor (message = 'authentication required', readonly challenge?: string, hints?: ErrorHints) {
    super(message, 401, GrpcStatus.UNAUTHENTICATED, 'PLAYFIELD_UNAUTHENTICATED', undefined, hints)
  }
}

export class ForbiddenError extends PlayfieldError {
  constructor (message = 'not allowed') {
    super(message, 403, GrpcStatus.PERMISSION_DENIED, 'PLAYFIELD_FORBIDDEN')
  }
}

export class NotFoundError extends PlayfieldError {
  constructor (message: string) {
    super(message, 404, GrpcStatus.NOT_FOUND, 'PLAYFIELD_NOT_FOUND')
  }
}

export class ConflictError extends PlayfieldError {
  constructor (message: string) {
    super(message, 409, GrpcStatus.ALREADY_EXISTS, 'PLAYFIELD_CONFLICT')
  }
}

export class RateLimitedError extends PlayfieldError {
  constructor (message = 'too many requests') {
    super(message, 429, GrpcStatus.RESOURCE_EXHAUSTED, 'PLAYFIELD_RATE_LIMITED')
  }
}

/** The process is at its limit for some costly work (e.g. password hashing): retry shortly. */
export class OverloadedError extends PlayfieldError {
  constructor (message = 'too busy, try again shortly') {
    super(message, 503, GrpcStatus.RESOURCE_EXHAUSTED, 'PLAYFIELD_OVERLOADED')
  }
}

export class UnavailableError extends PlayfieldError {
  constructor (message = 'a backing service is unavailable, try again shortly') {
    super(message, 503, GrpcStatus.UNAVAILABLE, 'PLAYFIELD_UNAVAILABLE')
  }
}

// Errors from the storage clients that mean "dependency down", not "bug": surfaced as 503 / UNAVAILABLE.
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'NoHostAvailableError', 'OperationTimedOutError'])
const UNAVAILABLE_MESSAGES = [
  /Connection is closed/, /Stream isn't writeable/, /ECONNREFUSED/, /Reached the max retries/,
  // Redis at its maxmemory with noeviction refuses writes: full, not broken (reads keep working).
  /OOM command not allowed/,
  // ioredis' commandTimeout: Redis stalled (stopped, partitioned, blocked by a long script)
  /^Command timed out$/
]

export function asPlayfieldError (err: unknown): PlayfieldError | undefined {
  if (err instanceof PlayfieldError) return err
  if (err instanceof Error) {
    if (UNAVAILABLE_NAMES.has(err.name) || UNAVAILABLE_MESSAGES.some(re => re.test(err.message))) {
      return new UnavailableError()
    }
  }
  return undefined
}

export interface HttpErrorReply { statusCode: number, body: { message: string, code: string, details?: unknown } }

export function toHttpError (err: unknown): HttpErrorReply {
  const known = asPlayfieldError(err)
  if (known) {
    const body: HttpErrorReply['body'] = { message: known.message, code: known.code }
    if (known.details !== undefined) body.details = known.details
    return { statusCode: known.statusCode, body }
  }
  // Fastify's own client errors (schema validation, bad JSON, body too large, unsupported media type…) and its
  // deliberate 503s (load shedding by under-pressure, requests arriving while closing) keep their status.
  const e = err as { statusCode?: number, code?: string, message?: string, validation?: unknown }
  if (typeof e?.statusCode === 'number' && ((e.statusCode >= 400 && e.statusCode < 500) || e.statusCode === 503)) {
    return {
      statusCode: e.statusCode,
      body: { message: e.message ?? 'bad request', code: e.validation ? 'PLAYFIELD_INVALID_ARGUMENT' : (e.code ?? 'PLAYFIELD_BAD_REQUEST') }
    }
  }
  return { statusCode: 500, body: { message: 'internal server error', code: 'PLAYFIELD_INTERNAL' } }
}

export interface GrpcErrorStatus { code: GrpcStatus, details: string }

export function toGrpcError (err: unknown): GrpcErrorStatus {
  const known = asPlayfieldError(err)
  if (known) return { code: known.grpcCode, details: known.hints.grpcMessage ?? known.message }
  const e = err as { code?: unknown, details?: unknown }
  // Already a gRPC status object (e.g. produced by an interceptor): pass through unless it would leak internals.
  if (typeof e?.code === 'number' && e.code !== GrpcStatus.UNKNOWN && e.code !== GrpcStatus.INTERNAL &&
      typeof e.details === 'string') {
    return { code: e.code, details: e.details }
  }
  return { code: GrpcStatus.INTERNAL, details: 'internal error' }
}

/** True for errors that are faults of ours (to be logged at error level). */
export function isFault (err: unknown): boolean {
  return toHttpError(err).statusCode >= 500
}
