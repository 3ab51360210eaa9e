import { createHmac } from 'node:crypto'
import t from 'tap'
import { Cluster } from 'ioredis'
import { keySlot } from '../../src/plugins/infra/gather.js'
import { allKeys, build } from '../helpers/app.js'

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
const ADMIN = basic('admin', 'admin-password')

function b64url (v: object | string) {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
}
function forge (payload: object, secret: string, alg = 'HS256') {
  const head = b64url({ alg, typ: 'JWT' })
  const body = b64url(payload)
  if (alg === 'none') return `${head}.${body}.`
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}
const SECRET = 'test-jwt-secret-test-jwt-secret-0123456789'

t.test('POST /auth with the right Basic credentials returns a JWT valid for JWT_TTL', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.expires_in, 1800)
  const payload = JSON.parse(Buffer.from(body.jwt.split('.')[1], 'base64url').toString())
  t.equal(payload.sub, 'admin')
  t.equal(payload.admin, true)
  t.equal(payload.exp - payload.iat, 1800)
})

t.test('POST /auth refuses bad credentials and missing or malformed Basic headers with 401, never 500', async (t) => {
  const app = await build(t)
  const wrong = await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic('admin', 'nope-nope') } })
  t.equal(wrong.statusCode, 401)
  t.same(wrong.json(), { message: 'invalid username or password', code: 'PLAYFIELD_UNAUTHENTICATED' })
  const unknown = await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic('ghost', 'whatever1') } })
  t.equal(unknown.statusCode, 401)
  for (const header of [undefined, 'Basic', 'Basic !!!', 'Bearer abc', 'Basic ' + Buffer.from('nocolon').toString('base64')]) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.0.0.2', headers: header ? { authorization: header } : {} })
    t.equal(res.statusCode, 401, `header ${header}`)
    t.match(res.headers['www-authenticate'], /^Basic realm="playfield"/)
  }
})

t.test('logins are rate-limited per username and client address', async (t) => {
  const app = await build(t)
  const codes: number[] = []
  for (let i = 0; i < 12; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.1.0.1', headers: { authorization: basic('victim', `guess-${i}-xx`) } })
    codes.push(res.statusCode)
  }
  t.same(codes, [...Array(10).fill(401), 429, 429])
})

t.test('parallel guesses against one username are limited as strictly as sequential ones', async (t) => {
  const app = await build(t)
  // 30 guesses at once from one address (20 pass the route's own per-address limit): a check-then-count limit
  // would let all of them reach scrypt.
  const codes = await Promise.all(Array.from({ length: 30 }, (_, i) => app.inject({
    method: 'POST', url: '/auth', remoteAddress: '10.3.0.1', headers: { authorization: basic('victim2', `guess-${i}-xx`) }
  }).then(res => res.statusCode)))
  t.equal(codes.filter(c => c === 401).length, 10, 'exactly the window allowance reached the password check')
  t.equal(codes.filter(c => c === 429).length, 20)
})

t.test('a correct login does not use up the per-username allowance', async (t) => {
  const app = await build(t)
  for (let i = 0; i < 15; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: `10.4.0.${i}`, headers: { authorization: ADMIN } })
    t.equal(res.statusCode, 200, `login ${i}`)
  }
})

t.test('logins are rate-limited per client address', async (t) => {
  const app = await build(t)
  const codes = new Set<number>()
  for (let i = 0; i < 22; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.2.0.1', headers: { authorization: basic(`user${i}`, 'whatever-1') } })
    if (i >= 20) codes.add(res.statusCode)
  }
  t.same([...codes], [429])
})

t.test('admin creates accounts; a duplicate is 409; non-admins are refused', async (t) => {
  const app = await build(t)
  const create = (auth: string, body: object) => app.inject({ method: 'POST', url: '/accounts', headers: { authorization: auth }, payload: body })
  const ok = await create(ADMIN, { username: 'player1', password: 'player-pass-1' })
  t.equal(ok.statusCode, 201)
  t.same(ok.json(), { username: 'player1', admin: false })
  t.equal((await create(ADMIN, { username: 'player1', password: 'player-pass-1' })).statusCode, 409)
  t.equal((await create(basic('player1', 'player-pass-1'), { username: 'p2', password: 'player-pass-2' })).statusCode, 403)
  t.equal((await create(ADMIN, { username: 'bad name', password: 'player-pass-1' })).statusCode, 400)
  t.equal((await create(ADMIN, { username: 'short', password: 'x' })).statusCode, 400)
  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic('player1', 'player-pass-1') } })).json().jwt
  t.equal((await create(`Bearer ${jwt}`, { username: 'p3', password: 'player-pass-3' })).statusCode, 403)
})

t.test('JWTs that are expired, tampered, alg=none or signed with another secret are refused with 401', async (t) => {
  const app = await build(t)
  const now = Math.floor(Date.now() / 1000)
  const cases: Record<string, string> = {
    expired: forge({ sub: 'admin', admin: true, iat: now - 4000, exp: now - 2000 }, SECRET),
    tampered: forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, SECRET).replace(/\.[^.]+\./, '.' + b64url({ sub: 'admin', admin: true, iat: now, exp: now + 99999 }) + '.'),
    none: forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, SECRET, 'none'),
    wrongSecret: forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, 'another-secret-another-secret-0000'),
    garbage: 'not.a.jwt'
  }
  const valid = forge({ sub: 'admin', admin: true, iat: now, exp: now + 600 }, SECRET)
  const revoke = (jwt: string) => app.inject({ method: 'POST', url: '/tokens/revoke', headers: { authorization: `Bearer ${jwt}` }, payload: { username: 'nobody' } })
  t.equal((await revoke(valid)).statusCode, 200, 'a correctly signed token passes')
  for (const [name, jwt] of Object.entries(cases)) {
    const res = await revoke(jwt)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, 'PLAYFIELD_UNAUTHENTICATED', name)
  }
})

t.test('gRPC tokens: issued per call, many valid at once, stored only as a hash, revocable', async (t) => {
  const app = await build(t)
  const issue = async () => (await app.inject({ method: 'POST', url: '/tokens', headers: { authorization: ADMIN } })).json().token as string
  const a = await issue()
  const b = await issue()
  t.match(a, /^[0-9a-f]{14}$/, 'TOKEN_BYTES=7 → 14 hex characters')
  t.not(a, b)
  t.equal(await app.auth.verifyToken(a), 'admin')
  t.equal(await app.auth.verifyToken(b), 'admin')
  t.equal(await app.redis.exists(`auth:token:${a}`), 0, 'the token itself is not a key')
  const keys = await allKeys(app.redis, 'auth:token:*')
  t.equal(keys.length, 2)
  t.notOk(keys.some(k => k.includes(a)), 'no key contains the raw token')

  const res = await app.inject({ method: 'POST', url: '/tokens/revoke', headers: { authorization: ADMIN }, payload: { token: a } })
  t.same(res.json(), { revoked: 1 })
  t.equal(await app.auth.verifyToken(a), null)
  t.equal(await app.auth.verifyToken(b), 'admin', 'other tokens stay valid')
  t.equal((await app.inject({ method: 'POST', url: '/tokens/revoke', headers: { authorization: ADMIN }, payload: { token: a } })).statusCode, 404)
})

t.test('revoking all tokens of an account reaches token keys on every master; the account keys share one slot', async (t) => {
  const app = await build(t)
  await app.auth.createAccount('holder', 'holder-pass-1')
  const tokens = await Promise.all(Array.from({ length: 12 }, () => app.auth.issueToken('holder')))
  const own = ['account', 'tokens', 'rl'].map(kind => `auth:{u:holder}:${kind}`)
  t.same(new Set(own.map(keySlot)).size, 1, 'account, token set and login counter share a slot')
  t.equal(await app.redis.exists(own[0]!), 1)
  t.equal(await app.redis.scard(own[1]!), 12)
  if (app.redis instanceof Cluster) {
    const cluster = app.redis
    const masters = new Set((await allKeys(app.redis, 'auth:token:*')).map(k => cluster.slots[keySlot(k)]?.[0]))
    t.ok(masters.size >= 2, `token keys lie on ${masters.size} masters`)
  }

  const res = await app.inject({ method: 'POST', url: '/tokens/revoke', headers: { authorization: ADMIN }, payload: { username: 'holder' } })
  t.same(res.json(), { revoked: 12 })
  t.same(await Promise.all(tokens.map(tk => app.auth.verifyToken(tk))), tokens.map(() => null))
  t.equal(await app.redis.exists(own[1]!), 0, 'the set is empty')
  const again = await app.inject({ method: 'POST', url: '/tokens/revoke', headers: { authorization: ADMIN }, payload: { username: 'holder' } })
  t.same(again.json(), { revoked: 0 })
})

t.test('the admin account is ensured at start from ADMIN_USER / ADMIN_PASSWORD', async (t) => {
  const app = await build(t, { config: { ADMIN_USER: 'boss', ADMIN_PASSWORD: 'boss-password-1' } })
  t.same(await app.auth.verifyPassword('boss', 'boss-password-1'), { username: 'boss', admin: true, epoch: 0 })
})

t.test('malformed Basic headers are refused with 401, the Basic challenge and a body naming the problem', async (t) => {
  const app = await build(t)
  const MALFORMED = 'missing or malformed "Authorization: Basic <base64 user:password>" header'
  const NOT_BASE64 = 'credentials must be base64 of user:password'
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  const cases: Array<[string | undefined, string]> = [
    [undefined, MALFORMED],
    ['Basic', MALFORMED],
    ['Bearer abc', MALFORMED],
    ['Basic a b', MALFORMED],
    ['Basic ', NOT_BASE64],
    ['Basic !!!', NOT_BASE64],
    ['Basic ' + b64('nocolon'), NOT_BASE64],
    ['Basic ' + b64(':no-username'), NOT_BASE64],
    [basic('nobody', 'wrong-password'), 'invalid username or password']
  ]
  for (const [header, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.5.0.1', headers: header === undefined ? {} : { authorization: header } })
    t.equal(res.statusCode, 401, `POST /auth, header ${header}`)
    t.same(res.json(), { message, code: 'PLAYFIELD_UNAUTHENTICATED' }, `POST /auth, header ${header}`)
    t.equal(res.headers['www-authenticate'], 'Basic realm="playfield", charset="UTF-8"')
  }
  const spaced = await app.inject({ method: 'POST', url: '/auth', headers: { authorization: `basic \t${b64('admin:admin-password')}  ` } })
  t.equal(spaced.statusCode, 200, 'the scheme is case-insensitive and extra blanks are tolerated')
})

t.test('admin routes answer bad Basic credentials as before: 401 with the challenge, 403 for non-admins', async (t) => {
  const app = await build(t)
  await app.auth.createAccount('player9', 'player-pass-9')
  const cases: Array<[string | undefined, number, string, string | undefined]> = [
    [undefined, 401, 'admin credentials required', 'Basic realm="playfield", charset="UTF-8"'],
    ['Basic !!!', 401, 'credentials must be base64 of user:password', 'Basic realm="playfield", charset="UTF-8"'],
    ['Basic a b', 401, 'credentials must be base64 of user:password', 'Basic realm="playfield", charset="UTF-8"'],
    [basic('player9', 'wrong-password'), 401, 'invalid username or password', 'Basic realm="playfield", charset="UTF-8"'],
    [basic('player9', 'player-pass-9'), 403, 'admin only', undefined],
    ['Bearer not-a-jwt', 401, 'invalid or expired token', 'Bearer realm="playfield"']
  ]
  for (const url of ['/admin/dead-letters', '/admin/queues', '/admin/queues/api/queues']) {
    for (const [header, status, message, challenge] of cases) {
      const res = await app.inject({ url, headers: header === undefined ? {} : { authorization: header } })
      t.equal(res.statusCode, status, `${url}, header ${header}`)
      t.same(res.json(), { message, code: status === 401 ? 'PLAYFIELD_UNAUTHENTICATED' : 'PLAYFIELD_FORBIDDEN' }, `${url}, header ${header}`)
      t.equal(res.headers['www-authenticate'], challenge, `${url}, header ${header}`)
    }
    t.equal((await app.inject({ url, headers: { authorization: ADMIN } })).statusCode, 200, `${url} with admin credentials`)
  }
})

t.test('admin Basic credentials count against the per-username login limit; a correct one gives its slot back', async (t) => {
  const app = await build(t)
  // An admin of its own: the attempt counters live in this file's Redis, shared by its tests.
  await app.auth.createAccount('boss3', 'boss-password-3', { admin: true })
  const BOSS = basic('boss3', 'boss-password-3')
  for (let i = 0; i < 15; i++) {
    t.equal((await app.inject({ url: '/admin/dead-letters', headers: { authorization: BOSS } })).statusCode, 200, `admin ${i}`)
  }
  const codes: number[] = []
  for (let i = 0; i < 11; i++) {
    codes.push((await app.inject({ url: '/admin/queues', headers: { authorization: basic('boss3', `guess-${i}-x`) } })).statusCode)
  }
  t.same(codes, [...Array(10).fill(401), 429])
  const locked = await app.inject({ url: '/admin/dead-letters', headers: { authorization: BOSS } })
  t.equal(locked.statusCode, 429, 'locked for the window, even with the right password')
  t.equal(locked.json().code, 'PLAYFIELD_RATE_LIMITED')
})
