import { createHmac } from 'node:crypto'
import t from 'tap'
import { Metadata, status } from '@grpc/grpc-js'
import { build, deadline, grpcClient } from '../helpers/app.js'
import { LeaderBoard, ShapeService, Users } from '../../src/grpc/contract.js'

// The auth attack table, on both doors: every forged, expired, garbled, revoked or missing credential is refused
// with 401 / UNAUTHENTICATED (never a 5xx), and guessing passwords is rate-limited.

const SECRET = 'test-jwt-secret-test-jwt-secret-0123456789'
const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')
function jwt (payload: object, secret = SECRET, alg = 'HS256') {
  const head = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}`
  return alg === 'none' ? `${head}.` : `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}
const now = () => Math.floor(Date.now() / 1000)
const basic = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64')

function unary (client: any, method: string, req: object, md: Metadata): Promise<{ code: number, details: string }> {
  return new Promise((resolve) => client[method](req, md, { deadline: deadline() },
    (err: { code: number, details: string } | null) => resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' })))
}

t.test('REST: forged, expired and garbled JWTs are all 401', async (t) => {
  const app = await build(t)
  const valid = { sub: 'admin', admin: true, iat: now(), exp: now() + 600 }
  const table: Record<string, string | undefined> = {
    'missing header': undefined,
    'alg none': `Bearer ${jwt(valid, SECRET, 'none')}`,
    expired: `Bearer ${jwt({ ...valid, iat: now() - 7200, exp: now() - 3600 })}`,
    tampered: `Bearer ${jwt(valid).replace(/\.[^.]+\./, `.${b64url({ ...valid, sub: 'root' })}.`)}`,
    'wrong secret': `Bearer ${jwt(valid, 'some-other-secret-some-other-secret-00')}`,
    'garbled: scheme only': 'Bearer',
    'garbled: two tokens': 'Bearer a b',
    'garbled: not base64': 'Bearer %%%.###.$$$',
    'garbled: Basic on a JWT route': basic('admin', 'admin-password'),
    'garbled: binary': 'Bearer \u0000\u00ff'
  }
  for (const [name, authorization] of Object.entries(table)) {
    const res = await app.inject({ method: 'POST', url: '/scores', headers: authorization ? { authorization } : {}, payload: [{ name: 'x', score: 1 }] })
    t.equal(res.statusCode, 401, name)
  }
  const ok = await app.inject({ method: 'POST', url: '/scores', headers: { authorization: `Bearer ${jwt(valid)}` }, payload: [{ name: 'x', score: 1 }] })
  t.equal(ok.statusCode, 200, 'the same route accepts a correctly signed token')
})

t.test('REST: brute-forcing Basic credentials is rate-limited, even once the right password is guessed', async (t) => {
  const app = await build(t)
  await app.auth.createAccount('target', 'the-right-password')
  const codes: number[] = []
  for (let i = 0; i < 11; i++) {
    codes.push((await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.9.0.1', headers: { authorization: basic('target', `guess-${i}-x`) } })).statusCode)
  }
  t.same(codes, [...Array(10).fill(401), 429])
  const right = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.9.0.1', headers: { authorization: basic('target', 'the-right-password') } })
  t.equal(right.statusCode, 429, 'the guessing address stays locked for the window')
  // The lockout is per (account, address): the owner elsewhere is not locked out by someone else's guesses.
  const owner = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.9.1.1', headers: { authorization: basic('target', 'the-right-password') } })
  t.equal(owner.statusCode, 200, 'the owner from another address still logs in')
})

t.test('gRPC: missing, garbled, wrong, revoked tokens and wrong signatures are UNAUTHENTICATED on every service', async (t) => {
  const app = await build(t, { config: { SHAPES_SIGNATURE: 'right-signature' } })
  const lb = grpcClient(t, app, LeaderBoard)
  const users = grpcClient(t, app, Users)
  const shapes = grpcClient(t, app, ShapeService)
  const revoked = await app.auth.issueToken('admin')
  await app.auth.revokeToken(revoked)
  const good = await app.auth.issueToken('admin')
  const restJwt = jwt({ sub: 'admin', admin: true, iat: now(), exp: now() + 600 })

  const tokenCases: Record<string, string | undefined> = {
    missing: undefined,
    'scheme only': 'Bearer',
    'Basic instead of a token': basic('admin', 'admin-password'),
    'wrong token': 'Bearer 0123456789abcd',
    'revoked token': `Bearer ${revoked}`,
    'a REST JWT': `Bearer ${restJwt}`,
    garbage: 'Bearer !!$$## not-a-token'
  }
  for (const [name, authorization] of Object.entries(tokenCases)) {
    const md = new Metadata()
    if (authorization) md.set('authorization', authorization)
    t.equal((await unary(lb, 'GetLeaderBoardPages', { page: 0 }, md)).code, status.UNAUTHENTICATED, `LeaderBoard: ${name}`)
    t.equal((await unary(users, 'SendUserInfo', { email: 'a@b.co', user_name: 'a' }, md)).code, status.UNAUTHENTICATED, `Users: ${name}`)
  }
  const ok = new Metadata()
  ok.set('authorization', `Token ${good}`)
  t.equal((await unary(lb, 'GetLeaderBoardPages', { page: 0 }, ok)).code, status.OK, 'a valid token (scheme Token) passes')

  for (const [name, signature] of Object.entries({ missing: undefined, wrong: 'wrong-signature', prefix: 'right', longer: 'right-signature!' })) {
    const md = new Metadata()
    if (signature) md.set('x-signature', signature)
    t.equal((await unary(shapes, 'CreateShape', { shape_type: 'Triangle' }, md)).code, status.UNAUTHENTICATED, `ShapeService: ${name} signature`)
  }
})

t.test('gRPC: brute-forcing AuthenticateUser is rate-limited', async (t) => {
  const app = await build(t)
  const lb = grpcClient(t, app, LeaderBoard)
  const codes: number[] = []
  for (let i = 0; i < 11; i++) {
    const data = Buffer.from(`admin:guess-${i}-x`).toString('base64')
    codes.push((await unary(lb, 'AuthenticateUser', { data }, new Metadata())).code)
  }
  t.same(codes, [...Array(10).fill(status.UNAUTHENTICATED), status.RESOURCE_EXHAUSTED])
})
