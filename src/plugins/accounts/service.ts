import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { Clock } from '../../clock.js'
import type { Config } from '../../config.js'
import {
  ConflictError, InvalidArgumentError, OverloadedError, RateLimitedError, UnauthenticatedError
} from '../../errors.js'
import type { AccountsStore } from './redis-store.js'

// Accounts and the credentials they log in with, for both doors: passwords (HTTP Basic, gRPC AuthenticateUser),
// gRPC tokens, and the login limits. REST JWTs are signed by the plugin (index.ts); their epoch is checked here.

type ScryptAsync = (password: string, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>
const scryptAsync = promisify(scrypt) as ScryptAsync
// N=2^15 makes one hash take tens of ms: slow enough to hurt offline guessing, cheap enough for logins.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/
// Longer credentials are refused before any decoding or hashing (a 15 KB header cost ~300 ms of parsing).
export const MAX_CREDENTIALS_LENGTH = 1024
export const BASIC_CHALLENGE = 'Basic realm="playfield", charset="UTF-8"'
export const BEARER_CHALLENGE = 'Bearer realm="playfield"'

export interface Principal { username: string, admin: boolean, epoch: number }

/**
 * At most `max` holders at once, at most `waiting` callers queued; past that `run` refuses at once. scrypt runs on
 * libuv's small thread pool: unbounded, a login spray would queue every other file and DNS operation behind it.
 */
export function semaphore (max: number, waiting: number) {
  let active = 0
  const queue: Array<() => void> = []
  return async function run<T> (fn: () => Promise<T>): Promise<T> {
    if (active >= max) {
      if (queue.length >= waiting) throw new OverloadedError('too many logins in progress, try again shortly')
      await new Promise<void>(resolve => queue.push(resolve))
    } else {
      active++
    }
    try {
      return await fn()
    } finally {
      // The slot passes straight to the next waiter (active stays the same), or is freed.
      const next = queue.shift()
      if (next) next()
      else active--
    }
  }
}

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
  if (trimmed.length > MAX_CREDENTIALS_LENGTH) {
    throw new UnauthenticatedError(`credentials longer than ${MAX_CREDENTIALS_LENGTH} characters`, BASIC_CHALLENGE)
  }
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
  const hashing = semaphore(config.SCRYPT_MAX_CONCURRENT, config.SCRYPT_MAX_WAITING)

  async function verifyPassword (username: string, password: string): Promise<Principal | null> {
    const account = USERNAME.test(username) ? await store.account(username) : null
    // Unknown users cost the same hash as known ones, so timing does not reveal which names exist.
    const ok = await hashing(() => verifyHash(password, account?.passwordHash ?? dummyHash))
    return ok && account ? { username, admin: account.admin, epoch: account.epoch } : null
  }

  const retryIn = (ms: number) => `retry in ${Math.max(1, Math.ceil(ms / 1000))} s`

  /**
   * Checks a password under the login limits, the same on every login path of both doors. Every attempt takes a
   * slot in each counter *before* the password is checked, so parallel guesses can't all slip past; a correct
   * login gives its slots back. Three counters per window (LOGIN_WINDOW_MS):
   * - per address, over all accounts: stops spraying one password over many names;
   * - per (account, address): a guesser is stopped for that account, while the owner, from any other address,
   *   is not affected — an anonymous caller cannot lock someone else out;
   * - per account, from anywhere: past it (a guess spread over many addresses) only addresses where the account
   *   logged in correctly recently (LOGIN_TRUST_MS) may still try; the owner at home keeps logging in.
   */
  async function authenticate (username: string, password: string, address = 'unknown'): Promise<Principal> {
    if (username.length + password.length > MAX_CREDENTIALS_LENGTH) {
      throw new UnauthenticatedError(`credentials longer than ${MAX_CREDENTIALS_LENGTH} characters`, BASIC_CHALLENGE)
    }
    const window = config.LOGIN_WINDOW_MS
    const fromAddress = await store.countAddressAttempt(address, window)
    if (fromAddress.current > config.LOGIN_MAX_FAILURES_PER_IP) {
      throw new RateLimitedError(`too many failed logins from this address, ${retryIn(fromAddress.ttl)}`)
    }
    const { verdict, ttl } = await store.countAccountAttempt(username, address, window,
      config.LOGIN_MAX_FAILURES_PER_CLIENT, config.LOGIN_MAX_FAILURES_PER_ACCOUNT)
    if (verdict === 'address') throw new RateLimitedError(`too many failed logins for ${username}, ${retryIn(ttl)}`)
    if (verdict === 'account') {
      throw new RateLimitedError(`too many failed logins for ${username} from many addresses: only addresses it ` +
        `recently logged in from may try, ${retryIn(ttl)}`)
    }
    const principal = await verifyPassword(username, password)
    if (!principal) throw new UnauthenticatedError('invalid username or password', BASIC_CHALLENGE)
    await store.loginSucceeded(username, address, config.LOGIN_TRUST_MS)
    return principal
  }

  /** Revokes every credential of an account but its password: its JWTs (epoch bump) and its gRPC tokens. */
  async function revokeAll (username: string): Promise<number> {
    await store.bumpEpoch(username)
    return await store.removeAllTokens(username)
  }

  return {
    verifyPassword,
    authenticate,
    revokeAll,

    /** Checks base64 `user:password` (gRPC AuthenticateUser) as authenticate does. */
    async authenticateBasic (b64: string, address?: string): Promise<Principal> {
      const { username, password } = parseBasicPayload(b64)
      return await authenticate(username, password, address)
    },

    /** The account's token epoch (0 for an account never revoked, or none). REST JWTs carry it as `ep`. */
    async tokenEpoch (username: string): Promise<number> {
      return await store.epoch(username) ?? 0
    },

    /** True while a JWT of `username` carrying `epoch` is still valid (no revoke or password change since). */
    async jwtCurrent (username: string, epoch: number | undefined): Promise<boolean> {
      return (await store.epoch(username) ?? 0) === (epoch ?? 0)
    },

    /** Creates an account (or, with upsert, sets its password); returns how many gRPC tokens a reset revoked. */
    async createAccount (username: string, password: string, opts: { admin?: boolean, upsert?: boolean } = {}):
    Promise<number> {
      if (!USERNAME.test(username)) throw new InvalidArgumentError('username must be 1-64 of A-Z a-z 0-9 _ . @ -')
      if (typeof password !== 'string' || password.length < 8 || password.length > 256) {
        throw new InvalidArgumentError('password must be 8-256 characters')
      }
      const passwordHash = await hashing(() => hashPassword(password))
      const record = { passwordHash, admin: opts.admin ?? false, created: clock.now() }
      if (opts.upsert) {
        // A new password revokes what the old one gave out: its JWTs (epoch) and its gRPC tokens.
        const existed = await store.accountExists(username)
        await store.putAccount(username, record)
        return existed ? await revokeAll(username) : 0
      }
      // No reader ever sees an account without its admin flag, and of two concurrent creates one fails.
      if (!(await store.createAccount(username, record))) throw new ConflictError(`account ${username} already exists`)
      return 0
    },

    async accountExists (username: string) { return await store.accountExists(username) },

    /** A new gRPC token for the account (many may be valid at once); only its hash is stored. */
    async issueToken (username: string): Promise<string> {
      const token = randomBytes(config.TOKEN_BYTES).toString('hex')
      await store.addToken(tokenHash(token), username, config.TOKEN_TTL_S * 1000)
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

    /** Revokes every token of an account (gRPC tokens and REST JWTs); returns how many gRPC tokens. */
    async revokeAllTokens (username: string): Promise<number> {
      return await revokeAll(username)
    }
  }
}

export type AccountsService = ReturnType<typeof createAccounts>
