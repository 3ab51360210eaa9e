import { perKey } from '../infra/gather.js'
import { defineScripts, type RedisClient } from '../infra/lua.js'

// The accounts' keys; nothing else names them or calls Redis for accounts.
//
//   auth:{u:<username>}:account   hash   pw (scrypt$salt$hash), admin ('1' | '0'), created (ms)
//   auth:{u:<username>}:tokens    set    the auth:token:* keys of one account, so they can be listed and revoked
//   auth:{u:<username>}:rl        string attempts in the current login window (PEXPIRE = the window)
//   auth:token:<sha256(token)>    string the username a gRPC token belongs to (no expiry)
//
// Slots: one hash tag per account, so accounts spread over the masters. A token's lookup key can only be found
// from the token itself, so it has no tag and lies in a slot of its own; nothing is atomic across it and its
// account's set. Creating an account is one script on its one key; counting an attempt is a MULTI on one key.
//
// The two-slot steps are ordered so that a reader never sees a token half-issued or half-revoked, and a crash
// between the steps leaves at most a set entry naming a missing key:
// - issuing adds the token key to the account's set first, then SETs the token key — a token is valid only once
//   it is listed, so "revoke all" can always find every valid token;
// - revoking DELs the token key first (it is invalid at once), then SREMs it from the set;
// - revoking all reads the set, DELs those token keys (one pipeline per node), then SREMs only the keys its DEL
//   found. A listed key that was missing may be a token being issued right now (listed, not yet SET): it stays
//   listed, so once SET it is still revocable. A token issued after the read is not in it and stays listed too.
//   The price: a set entry left by a crash (an issue between its steps, a revoke-all before its SREM) is never
//   removed; it names no token, so it is only a few bytes of garbage.

const CREATE_ACCOUNT = `if redis.call('HEXISTS', KEYS[1], 'pw') == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`

// Usernames are [A-Za-z0-9_.@-] (no braces), so a name is a valid hash tag. Attempt keys are also made for names
// that fail that check; they are cut so that a guess with a huge username can't make a huge key.
const tag = (username: string) => `auth:{u:${username.slice(0, 64)}}`
const accountKey = (username: string) => `${tag(username)}:account`
const userTokensKey = (username: string) => `${tag(username)}:tokens`
const attemptsKey = (username: string) => `${tag(username)}:rl`
const tokenKey = (tokenHash: string) => `auth:token:${tokenHash}`

/** The new name of a key of the layout before hash tags (for `playfield migrate-keys`); undefined if not ours. */
export function legacyKey (key: string): string | undefined {
  const m = /^auth:(account|user-tokens|rl:user):(.+)$/s.exec(key)
  if (!m) return undefined
  const kind = m[1] === 'account' ? 'account' : m[1] === 'user-tokens' ? 'tokens' : 'rl'
  return `auth:{u:${m[2]}}:${kind}`
}

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
      await redis.sadd(userTokensKey(username), key)
      await redis.set(key, username)
    },

    /** The username the token belongs to, or null. */
    async tokenOwner (tokenHash: string): Promise<string | null> {
      return await redis.get(tokenKey(tokenHash))
    },

    /** Removes one token; false when there was none (or a concurrent revoke removed it first). */
    async removeToken (tokenHash: string): Promise<boolean> {
      const key = tokenKey(tokenHash)
      const username = await redis.getdel(key)
      if (!username) return false
      await redis.srem(userTokensKey(username), key)
      return true
    },

    /** Removes every token of an account; returns how many. */
    async removeAllTokens (username: string): Promise<number> {
      const keys = await redis.smembers(userTokensKey(username))
      const deleted = await perKey<number>(redis, keys, (pipeline, key) => { pipeline.del(key) })
      const gone = keys.filter((_k, i) => deleted[i] === 1)
      if (gone.length > 0) await redis.srem(userTokensKey(username), ...gone)
      return gone.length
    }
  }
}

export type AccountsStore = ReturnType<typeof createAccountsStore>
