import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Metadata } from '@grpc/grpc-js'
import type { Redis } from 'ioredis'
import type { Config } from '../../config.js'
import { ConflictError, ForbiddenError, InvalidArgumentError, RateLimitedError, UnauthenticatedError } from '../../errors.js'
import type { GrpcAuthorizer } from '../../grpc/interceptors/auth.js'

// Accounts, gRPC tokens and REST JWTs: one auth model for both doors (leaderboard, users, admin endpoints).
//
// Keys: auth:account:<username> (hash: pw, admin, created), auth:token:<sha256(token)> → username (no expiry),
// auth:user-tokens:<username> (set of token hashes, so an account's tokens can be listed/revoked),
// auth:rl:user:<username> (attempt counter for the per-username login limit).

type ScryptAsync = (password: string, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>
const scryptAsync = promisify(scrypt) as ScryptAsync
// N=2^15 makes one hash take tens of ms: slow enough to hurt offline guessing, cheap enough for logins.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/
export const BASIC_CHALLENGE = 'Basic realm="playfield", charset="UTF-8"'
export const BEARER_CHALLENGE = 'Bearer realm="playfield"'

export interface Principal { username: string, admin: boolean }

async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scryptAsync(password, salt, 32, SCRYPT)
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`
}

async function verifyHash (password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, SCRYPT)
  return timingSafeEqual(actual, expected)
}

const tokenKey = (token: string) => `auth:token:${createHash('sha256').update(token).digest('hex')}`

/** Parses `user:password` from base64 (the Basic header payload and the gRPC BasicCredentials.data). */
export function parseBasicPayload (b64: string): { username: string, password: string } {
  const trimmed = b64.trim()
  if (trimmed === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new UnauthenticatedError('credentials must be base64 of user:password', BASIC_CHALLENGE)
  }
  const decoded = Buffer.from(trimmed, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) throw new UnauthenticatedError('credentials must be base64 of user:password', BASIC_CHALLENGE)
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

export function createAuth ({ redis, config, dummyHash }: { redis: Redis, config: Config, dummyHash: string }) {
  async function verifyPassword (username: string, password: string): Promise<Principal | null> {
    const account = USERNAME.test(username) ? await redis.hgetall(`auth:account:${username}`) : {}
    // Unknown users cost the same hash as known ones, so timing does not reveal which names exist.
    const ok = await verifyHash(password, account.pw ?? dummyHash)
    return ok && account.pw ? { username, admin: account.admin === '1' } : null
  }

  // Per-username brute-force limit: every attempt takes a slot in the window *before* the password is checked
  // (INCR first), so parallel guesses can't all slip past the check; a correct login gives its slot back. Past
  // the limit every attempt (even a correct one) is refused until the window ends, so guessing can't continue
  // from many addresses.
  const attemptsKey = (username: string) => `auth:rl:user:${username.slice(0, 64)}`
  async function takeAttempt (username: string): Promise<void> {
    const key = attemptsKey(username)
    const replies = await redis.multi().incr(key).pexpire(key, config.RATE_LIMIT_WINDOW_MS, 'NX').exec()
    if (Number(replies?.[0]?.[1] ?? 0) > LOGIN_FAILURES_PER_WINDOW) {
      throw new RateLimitedError(`too many failed logins for ${username}, retry later`)
    }
  }
  async function giveBackAttempt (username: string): Promise<void> {
    await redis.decr(attemptsKey(username))
  }

  return {
    verifyPassword,

    async createAccount (username: string, password: string, opts: { admin?: boolean, upsert?: boolean } = {}) {
      if (!USERNAME.test(username)) throw new InvalidArgumentError('username must be 1-64 of A-Z a-z 0-9 _ . @ -')
      if (typeof password !== 'string' || password.length < 8 || password.length > 256) {
        throw new InvalidArgumentError('password must be 8-256 characters')
      }
      const key = `auth:account:${username}`
      const fields = ['pw', await hashPassword(password), 'admin', opts.admin ? '1' : '0', 'created', String(Date.now())]
      if (opts.upsert) {
        await redis.hset(key, ...fields)
        return
      }
      // One script makes "create" atomic: two concurrent creates can't both win, and no reader ever sees an
      // account without its admin flag.
      const created = await redis.eval(CREATE_ACCOUNT, 1, key, ...fields)
      if (created !== 1) throw new ConflictError(`account ${username} already exists`)
    },

    async accountExists (username: string) { return (await redis.exists(`auth:account:${username}`)) === 1 },

    /** Checks `user:password` (base64) with the per-username limit; the principal or UnauthenticatedError. */
    async authenticateBasic (b64: string): Promise<Principal> {
      const { username, password } = parseBasicPayload(b64)
      await takeAttempt(username)
      const principal = await verifyPassword(username, password)
      if (!principal) throw new UnauthenticatedError('invalid username or password', BASIC_CHALLENGE)
      await giveBackAttempt(username)
      return principal
    },

    /** A new gRPC token for the account (many may be valid at once); only its hash is stored. */
    async issueToken (username: string): Promise<string> {
      const token = randomBytes(config.TOKEN_BYTES).toString('hex')
      const key = tokenKey(token)
      await redis.multi().set(key, username).sadd(`auth:user-tokens:${username}`, key).exec()
      return token
    },

    async verifyToken (token: string): Promise<string | null> {
      if (!/^[0-9a-f]{2,256}$/i.test(token)) return null
      return await redis.get(tokenKey(token.toLowerCase()))
    },

    /** Revokes one token; false when it was not valid. */
    async revokeToken (token: string): Promise<boolean> {
      const key = tokenKey(token.toLowerCase())
      const username = await redis.get(key)
      if (!username) return false
      await redis.multi().del(key).srem(`auth:user-tokens:${username}`, key).exec()
      return true
    },

    /** Revokes every token of an account; returns how many. */
    async revokeAllTokens (username: string): Promise<number> {
      const keys = await redis.smembers(`auth:user-tokens:${username}`)
      if (keys.length === 0) return 0
      // SREM of what was read (not DEL of the set): a token issued meanwhile stays listed and revocable.
      await redis.multi().del(...keys).srem(`auth:user-tokens:${username}`, ...keys).exec()
      return keys.length
    }
  }
}

const LOGIN_FAILURES_PER_WINDOW = 10
const CREATE_ACCOUNT = `if redis.call('HEXISTS', KEYS[1], 'pw') == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`

export type AuthService = ReturnType<typeof createAuth> & {
  /** gRPC: `authorization: Bearer <token>` (or `Token <token>`) → the username, else UNAUTHENTICATED. */
  grpcBearer: GrpcAuthorizer
  /** REST preHandler: a valid JWT (Authorization: Bearer) → request.user. */
  requireJwt (request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** REST preHandler: admin by HTTP Basic credentials or by an admin JWT. */
  requireAdmin (request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** Signs the REST JWT for a principal. */
  signJwt (principal: Principal): Promise<{ jwt: string, expires_in: number }>
}

declare module 'fastify' {
  interface FastifyInstance { auth: AuthService }
}
declare module '@fastify/jwt' {
  interface FastifyJWT { payload: { sub: string, admin: boolean }, user: { sub: string, admin: boolean } }
}

export function bearerToken (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const m = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(value)
  return m?.[1]
}

export default fp(async function authPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'auth' })
  let secret = config.JWT_SECRET
  if (!secret) {
    // Only outside production (config refuses to start without it there): tokens die with the process.
    secret = randomBytes(32).toString('hex')
    log.warn('JWT_SECRET is not set: using a random secret, REST tokens will not survive a restart')
  }
  await app.register(jwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: config.JWT_TTL },
    verify: { algorithms: ['HS256'] }
  })

  const service = createAuth({ redis: app.redis, config, dummyHash: await hashPassword(randomBytes(12).toString('hex')) })

  const grpcBearer: GrpcAuthorizer = async (metadata: Metadata) => {
    const token = bearerToken(metadata.get('authorization')[0])
    if (!token) throw new UnauthenticatedError('missing metadata "authorization: Bearer <token>"')
    const username = await service.verifyToken(token)
    if (!username) throw new UnauthenticatedError('invalid or revoked token')
    return username
  }

  async function requireJwt (request: FastifyRequest) {
    if (!bearerToken(request.headers.authorization)) {
      throw new UnauthenticatedError('missing "Authorization: Bearer <jwt>" header', BEARER_CHALLENGE)
    }
    try {
      await request.jwtVerify()
    } catch {
      // Expired, tampered, alg=none or signed with another secret: all the same 401 to the client.
      throw new UnauthenticatedError('invalid or expired token', BEARER_CHALLENGE)
    }
  }

  async function requireAdmin (request: FastifyRequest) {
    const header = request.headers.authorization
    if (typeof header === 'string' && /^Basic\s/i.test(header)) {
      const principal = await service.authenticateBasic(header.replace(/^Basic\s+/i, ''))
      if (!principal.admin) throw new ForbiddenError('admin only')
      request.user = { sub: principal.username, admin: true }
      return
    }
    if (!bearerToken(header)) throw new UnauthenticatedError('admin credentials required', BASIC_CHALLENGE)
    await requireJwt(request)
    if (!request.user.admin) throw new ForbiddenError('admin only')
  }

  app.decorate('auth', {
    ...service,
    grpcBearer,
    requireJwt,
    requireAdmin,
    async signJwt (principal: Principal) {
      const token = await app.jwt.sign({ sub: principal.username, admin: principal.admin })
      return { jwt: token, expires_in: config.JWT_TTL }
    }
  })

  // The admin account is ensured at start. Without ADMIN_* outside production, one is generated once and
  // its password printed once; later starts find it already there.
  app.addHook('onReady', async () => {
    if (config.ADMIN_USER && config.ADMIN_PASSWORD) {
      const current = await service.verifyPassword(config.ADMIN_USER, config.ADMIN_PASSWORD)
      if (!current?.admin) {
        await service.createAccount(config.ADMIN_USER, config.ADMIN_PASSWORD, { admin: true, upsert: true })
      }
    } else if (config.NODE_ENV !== 'production' && !(await service.accountExists(config.ADMIN_USER ?? 'admin'))) {
      const username = config.ADMIN_USER ?? 'admin'
      const password = randomBytes(12).toString('base64url')
      await service.createAccount(username, password, { admin: true })
      log.warn({ username }, `generated the admin account; its password (shown once) is: ${password}`)
    } else if (!config.ADMIN_USER) {
      log.warn('no ADMIN_USER/ADMIN_PASSWORD: no admin account ensured')
    }
  })
}, { name: 'auth', dependencies: ['redis'] })
