import { perKey } from '../infra/gather.js'
import { createCounter } from '../infra/counter.js'
import { defineScripts, type RedisClient } from '../infra/lua.js'

// The accounts' keys; nothing else names them or calls Redis for accounts.
//
//   auth:{u:<username>}:account   hash   pw (scrypt$salt$hash), admin ('1' | '0'), created (ms),
//                                        epoch (REST JWTs carry it; bumping it revokes every JWT of the account)
//   auth:{u:<username>}:tokens    set    the auth:token:* keys of one account, so they can be listed and revoked
//                                        (expires with the newest token)
//   auth:{u:<username>}:rl        string failed logins for the account from anywhere in the window (PEXPIRE)
//   auth:{u:<username>}:rl:<ip>   string failed logins for the account from one address in the window (PEXPIRE)
//   auth:{u:<username>}:ok:<ip>   string '1' while the address is trusted for the account (a recent correct login)
//   auth:{ip:<ip>}:rl             string failed logins from one address, any account, in the window (PEXPIRE)
//   auth:token:<sha256(token)>    string the username a gRPC token belongs to (PEXPIRE = TOKEN_TTL_S)
//
// Slots: one hash tag per account, so accounts spread over the masters. A token's lookup key can only be found
// from the token itself, so it has no tag and lies in a slot of its own; nothing is atomic across it and its
// account's set. Creating an account is one script on its one key; counting an attempt against an account is one
// script on that account's keys (one tag); the per-address counter is a key of its own (infra/counter.ts).
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

// Counts one login attempt against an account before its password is checked, so parallel guesses can't slip
// past: KEYS = per (account, address) counter, per account counter, the address' trust marker; ARGV = window ms,
// max per (account, address), max per account. Returns 0 (go on), 1 (this address is over its limit for the
// account) or 2 (the account is over its global limit and this address is not trusted), and the ms left.
const COUNT_LOGIN = `local pair = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
local all = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1], 'NX')
if pair > tonumber(ARGV[2]) then return {1, redis.call('PTTL', KEYS[1])} end
if all > tonumber(ARGV[3]) and redis.call('EXISTS', KEYS[3]) == 0 then return {2, redis.call('PTTL', KEYS[2])} end
return {0, 0}`

// A correct login gives back the slots its attempt took and marks the address trusted for the account.
// KEYS as COUNT_LOGIN; ARGV = trust ms.
const LOGIN_OK = `for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
return 1`

// Creates the account or replaces its password; a replaced password bumps the epoch (every JWT issued before is
// refused from now on).
const PUT_ACCOUNT = `local existed = redis.call('HEXISTS', KEYS[1], 'pw')
redis.call('HSET', KEYS[1], unpack(ARGV))
if existed == 1 then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
return existed`

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
// Addresses are at most 45 characters (IPv6); anything longer is cut, like usernames.
const pairKey = (username: string, ip: string) => `${tag(username)}:rl:${ip.slice(0, 64)}`
const trustKey = (username: string, ip: string) => `${tag(username)}:ok:${ip.slice(0, 64)}`
const ipKey = (ip: string) => `auth:{ip:${ip.slice(0, 64)}}:rl`

/** The new name of a key of the layout before hash tags (for `playfield migrate-keys`); undefined if not ours. */
export function legacyKey (key: string): string | undefined {
  const m = /^auth:(account|user-tokens|rl:user):(.+)$/s.exec(key)
  if (!m) return undefined
  const kind = m[1] === 'account' ? 'account' : m[1] === 'user-tokens' ? 'tokens' : 'rl'
  return `auth:{u:${m[2]}}:${kind}`
}

export interface AccountRecord { passwordHash: string, admin: boolean, created: number }
export type LoginVerdict = 'ok' | 'address' | 'account'

export function createAccountsStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'accounts', {
    createAccount: CREATE_ACCOUNT, countLogin: COUNT_LOGIN, loginOk: LOGIN_OK, putAccount: PUT_ACCOUNT
  })
  const counter = createCounter(redis)
  const fields = (r: AccountRecord) => ['pw', r.passwordHash, 'admin', r.admin ? '1' : '0', 'created', String(r.created)]

  return {
    /** The account, or null when there is none (a hash without a password is no account). */
    async account (username: string): Promise<(Pick<AccountRecord, 'passwordHash' | 'admin'> & { epoch: number }) | null> {
      const h = await redis.hgetall(accountKey(username))
      return h.pw ? { passwordHash: h.pw, admin: h.admin === '1', epoch: Number(h.epoch ?? 0) } : null
    },

    /** The account's token epoch, or null when there is no account. */
    async epoch (username: string): Promise<number | null> {
      const [pw, epoch] = await redis.hmget(accountKey(username), 'pw', 'epoch')
      return pw ? Number(epoch ?? 0) : null
    },

    /** Bumps the account's token epoch (revoking its JWTs); returns the new epoch. */
    async bumpEpoch (username: string): Promise<number> {
      return await redis.hincrby(accountKey(username), 'epoch', 1)
    },

    /** Creates the account unless one exists (atomically: two concurrent creates can't both win); true if created. */
    async createAccount (username: string, record: AccountRecord): Promise<boolean> {
      return (await scripts.createAccount([accountKey(username)], fields(record))) === 1
    },

    /** Creates or overwrites the account; overwriting bumps its epoch, so JWTs issued before are revoked. */
    async putAccount (username: string, record: AccountRecord): Promise<void> {
      await scripts.putAccount([accountKey(username)], fields(record))
    },

    async accountExists (username: string): Promise<boolean> {
      return (await redis.exists(accountKey(username))) === 1
    },

    /** Counts one login attempt from `ip` in the window of the shared counter; the count so far and ms left. */
    async countAddressAttempt (ip: string, windowMs: number) {
      return await counter.hit(ipKey(ip), windowMs)
    },

    /** Counts one login attempt against the account from `ip` (see COUNT_LOGIN). */
    async countAccountAttempt (username: string, ip: string, windowMs: number, maxPerAddress: number,
      maxPerAccount: number): Promise<{ verdict: LoginVerdict, ttl: number }> {
      const [v, ttl] = await scripts.countLogin([pairKey(username, ip), attemptsKey(username), trustKey(username, ip)],
        [windowMs, maxPerAddress, maxPerAccount]) as [number, number]
      return { verdict: v === 1 ? 'address' : v === 2 ? 'account' : 'ok', ttl }
    },

    /** A correct login: its attempt is given back on all three counters and the address is trusted for `trustMs`. */
    async loginSucceeded (username: string, ip: string, trustMs: number): Promise<void> {
      await scripts.loginOk([pairKey(username, ip), attemptsKey(username), trustKey(username, ip)], [trustMs])
      const key = ipKey(ip)
      if (Number(await redis.get(key) ?? 0) > 0) await redis.decr(key)
    },

    async addToken (tokenHash: string, username: string, ttlMs: number): Promise<void> {
      const key = tokenKey(tokenHash)
      const set = userTokensKey(username)
      // The set lives as long as its newest token; entries naming expired tokens go with it.
      await redis.multi().sadd(set, key).pexpire(set, ttlMs, 'GT').pexpire(set, ttlMs, 'NX').exec()
      await redis.set(key, username, 'PX', ttlMs)
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
