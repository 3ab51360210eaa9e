import t from 'tap'
import { status } from '@grpc/grpc-js'
import {
  ConflictError, InvalidArgumentError, NotFoundError, UnauthenticatedError, UnavailableError, toGrpcError, toHttpError
} from '../src/errors.js'

t.test('domain errors map once to an HTTP status and a gRPC status', async (t) => {
  const cases: Array<[Error, number, status, string]> = [
    [new InvalidArgumentError('page 9 is past the last page'), 400, status.INVALID_ARGUMENT, 'PLAYFIELD_INVALID_ARGUMENT'],
    [new UnauthenticatedError(), 401, status.UNAUTHENTICATED, 'PLAYFIELD_UNAUTHENTICATED'],
    [new NotFoundError('player x not found'), 404, status.NOT_FOUND, 'PLAYFIELD_NOT_FOUND'],
    [new ConflictError('name taken'), 409, status.ALREADY_EXISTS, 'PLAYFIELD_CONFLICT'],
    [new UnavailableError(), 503, status.UNAVAILABLE, 'PLAYFIELD_UNAVAILABLE']
  ]
  for (const [err, http, grpc, code] of cases) {
    t.same(toHttpError(err), { statusCode: http, body: { message: err.message, code } }, err.name)
    t.same(toGrpcError(err), { code: grpc, details: err.message }, err.name)
  }
})

t.test('unexpected errors hide their internals', async (t) => {
  const err = new Error('password=hunter2 at /srv/secret.ts:12')
  t.same(toHttpError(err), { statusCode: 500, body: { message: 'internal server error', code: 'PLAYFIELD_INTERNAL' } })
  t.same(toGrpcError(err), { code: status.INTERNAL, details: 'internal error' })
})

t.test('a deliberate 503 (load shedding, closing) stays a 503 with its message', async (t) => {
  const err = Object.assign(new Error('server under pressure, retry shortly'), { statusCode: 503, code: 'FST_UNDER_PRESSURE' })
  t.same(toHttpError(err), { statusCode: 503, body: { message: 'server under pressure, retry shortly', code: 'FST_UNDER_PRESSURE' } })
})

t.test('a storage connection failure is UNAVAILABLE, not a bug', async (t) => {
  const err = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' })
  t.equal(toHttpError(err).statusCode, 503)
  t.equal(toGrpcError(err).code, status.UNAVAILABLE)
})
