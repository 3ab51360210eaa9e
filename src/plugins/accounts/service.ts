import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { Clock } from '../../clock.js'
import type { Config } from '../../config.js'
import { ConflictError, InvalidArgumentError, RateLimitedError, UnauthenticatedError } from '../../errors.js'
import type { AccountsStore } from './redis-store.js'

// Accounts and the credentials they log in with, for both doors: passwords (HTTP Basic, gRPC AuthenticateUser),
// gRPC tokens, and the per-username login limit. REST JWTs are signed by the plugin (index.ts).

type ScryptAsync = (password: string, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>
const scryptAsync = promisify(scrypt) as ScryptAsync
// N=2^15 makes one hash take tens of ms: slow enough to hurt offline guessing, cheap enough for logins.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/
const LOGIN_FAILURES_PER_WINDOW = 10
export const BASIC_CHALLENGE = 'Basic realm="playfield", charset="UTF-8"'
export const BEARER_CHALLENGE = 'Bearer realm="playfield"'

export interface Principal { username: string, admin: boolean }

export async function hashPassword (password: string): Promise<string> {
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

// Only a token's hash is stored: a copy of the database does not hold usable tokens.
const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex')

/**
 * Parses `user:password` from base64: the gRPC BasicCredentials.data. (HTTP Basic headers are parsed by
 * @fastify/basic-auth in the REST door.)
 */
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

/** The token of `Bearer <token>` (or `Token <token>`), as both doors accept it; undefined for anything else. */
export function bearerToken (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const m = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(value)
  return m?.[1]
}

export function createAccounts ({ store, config, clock, dummyHash }: {
  store: AccountsStore, config: Config, clock: Clock, dummyHash: string
}) {
  async function verifyPassword (username: string, password: string): Promise<Principal | null> {
    const account = USERNAME.test(username) ? await store.account(username) : null
    // Unknown users cost the same hash as known ones, so timing does not reveal which names exist.
    const ok = await verifyHash(password, account?.passwordHash ?? dummyHash)
    return ok && account ? { username, admin: account.admin } : null
  }

  /**
   * Checks a password under the per-username brute-force limit: every attempt takes a slot in the window *before*
   * the password is checked, so parallel guesses can't all slip past the check; a correct login gives its slot
   * back. Past the limit every attempt (even a correct one) is refused until the window ends, so guessing can't
   * continue from many addresses.
   */
  async function authenticate (username: string, password: string): Promise<Principal> {
    if (await store.countAttempt(username, config.RATE_LIMIT_WINDOW_MS) > LOGIN_FAILURES_PER_WINDOW) {
      throw new RateLimitedError(`too many failed logins for ${username}, retry later`)
    }
    const principal = await verifyPassword(username, password)
    if (!principal) throw new UnauthenticatedError('invalid username or password', BASIC_CHALLENGE)
    await store.uncountAttempt(username)
    return principal
  }

  return {
    verifyPassword,
    authenticate,

    /** Checks base64 `user:password` (gRPC AuthenticateUser) as authenticate does. */
    async authenticateBasic (b64: string): Promise<Principal> {
      const { username, password } = parseBasicPayload(b64)
      return await authenticate(username, password)
    },

    async createAccount (username: string, password: string, opts: { admin?: boolean, upsert?: boolean } = {}) {
      if (!USERNAME.test(username)) throw new InvalidArgumentError('username must be 1-64 of A-Z a-z 0-9 _ . @ -')
      if (typeof password !== 'string' || password.length < 8 || password.length > 256) {
        throw new InvalidArgumentError('password must be 8-256 characters')
      }
      const record = { passwordHash: await hashPassword(password), admin: opts.admin ?? false, created: clock.now() }
      if (opts.upsert) return await store.putAccount(username, record)
      // No reader ever sees an account without its admin flag, and of two concurrent creates one fails.
      if (!(await store.createAccount(username, record))) throw new ConflictError(`account ${username} already exists`)
    },

    async accountExists (username: string) { return await store.accountExists(username) },

    /** A new gRPC token for the account (many may be valid at once); only its hash is stored. */
    async issueToken (username: string): Promise<string> {
      const token = randomBytes(config.TOKEN_BYTES).toString('hex')
      await store.addToken(tokenHash(token), username)
      return token
    },

    /** The username of a valid token, else null. */
    async verifyToken (token: string): Promise<string | null> {
      if (!/^[0-9a-f]{2,256}$/i.test(token)) return null
      return await store.tokenOwner(tokenHash(token.toLowerCase()))
    },

    /** Revokes one token; false when it was not valid. */
    async revokeToken (token: string): Promise<boolean> {
      return await store.removeToken(tokenHash(token.toLowerCase()))
    },

    /** Revokes every token of an account; returns how many. */
    async revokeAllTokens (username: string): Promise<number> {
      return await store.removeAllTokens(username)
    }
  }
}

export type AccountsService = ReturnType<typeof createAccounts>
