import { defineScripts, type RedisClient } from '../infra/lua.js'

// The accounts' keys; nothing else names them or calls Redis for accounts.
//
//   auth:account:<username>       hash   pw (scrypt$salt$hash), admin ('1' | '0'), created (ms)
//   auth:token:<sha256(token)>    string the username a gRPC token belongs to (no expiry)
//   auth:user-tokens:<username>   set    the auth:token:* keys of one account, so they can be listed and revoked
//   auth:rl:user:<username>       string attempts in the current login window (PEXPIRE = the window)
//
// Multi-key operations (MULTI): adding and revoking a token touch auth:token:<hash> and auth:user-tokens:<username>;
// revoking every token touches the set and all its tokens. They share no hash tag yet, so they assume one Redis
// (or primary). Creating an account is one script on its one key; counting an attempt is a MULTI on one key.

const CREATE_ACCOUNT = `if redis.call('HEXISTS', KEYS[1], 'pw') == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`

const accountKey = (username: string) => `auth:account:${username}`
const tokenKey = (tokenHash: string) => `auth:token:${tokenHash}`
const userTokensKey = (username: string) => `auth:user-tokens:${username}`
// Names are cut so that a guess with a huge username can't make a huge key.
const attemptsKey = (username: string) => `auth:rl:user:${username.slice(0, 64)}`

export interface AccountRecord { passwordHash: string, admin: boolean, created: number }

export function createAccountsStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'accounts', { createAccount: CREATE_ACCOUNT })
  const fields = (r: AccountRecord) => ['pw', r.passwordHash, 'admin', r.admin ? '1' : '0', 'created', String(r.created)]

  return {
    /** The account, or null when there is none (a hash without a password is no account). */
    async account (username: string): Promise<Pick<AccountRecord, 'passwordHash' | 'admin'> | null> {
      const h = await redis.hgetall(accountKey(username))
      return h.pw ? { passwordHash: h.pw, admin: h.admin === '1' } : null
    },

    /** Creates the account unless one exists (atomically: two concurrent creates can't both win); true if created. */
    async createAccount (username: string, record: AccountRecord): Promise<boolean> {
      return (await scripts.createAccount([accountKey(username)], fields(record))) === 1
    },

    /** Creates or overwrites the account. */
    async putAccount (username: string, record: AccountRecord): Promise<void> {
      await redis.hset(accountKey(username), ...fields(record))
    },

    async accountExists (username: string): Promise<boolean> {
      return (await redis.exists(accountKey(username))) === 1
    },

    /** Counts one login attempt in the window (started by the first attempt); returns the count so far. */
    async countAttempt (username: string, windowMs: number): Promise<number> {
      const key = attemptsKey(username)
      const replies = await redis.multi().incr(key).pexpire(key, windowMs, 'NX').exec()
      return Number(replies?.[0]?.[1] ?? 0)
    },

    async uncountAttempt (username: string): Promise<void> {
      await redis.decr(attemptsKey(username))
    },

    async addToken (tokenHash: string, username: string): Promise<void> {
      const key = tokenKey(tokenHash)
      await redis.multi().set(key, username).sadd(userTokensKey(username), key).exec()
    },

    /** The username the token belongs to, or null. */
    async tokenOwner (tokenHash: string): Promise<string | null> {
      return await redis.get(tokenKey(tokenHash))
    },

    /** Removes one token; false when there was none. */
    async removeToken (tokenHash: string): Promise<boolean> {
      const key = tokenKey(tokenHash)
      const username = await redis.get(key)
      if (!username) return false
      await redis.multi().del(key).srem(userTokensKey(username), key).exec()
      return true
    },

    /** Removes every token of an account; returns how many. */
    async removeAllTokens (username: string): Promise<number> {
      const keys = await redis.smembers(userTokensKey(username))
      if (keys.length === 0) return 0
      // SREM of what was read (not DEL of the set): a token issued meanwhile stays listed and revocable.
      await redis.multi().del(...keys).srem(userTokensKey(username), ...keys).exec()
      return keys.length
    }
  }
}

export type AccountsStore = ReturnType<typeof createAccountsStore>
