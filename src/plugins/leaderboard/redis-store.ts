import type { ChainableCommander } from 'ioredis'
import { perKey } from '../infra/gather.js'
import { defineScripts, type RedisClient } from '../infra/lua.js'
import { ADD_BOARD, PAGE, PLAYER, REBUILD_VIEW, SUBMIT, WINDOW_DAYS } from './scripts.js'
import type { Window } from './service.js'

// The only file of the leaderboard that names keys or talks to Redis. Keys of one board (<b>):
//   lb:{b}:all        sorted set  every player's best score ever
//   lb:{b}:day:<d>    sorted set  each player's best score submitted on UTC day d (days since the epoch)
//   lb:{b}:days       sorted set  the day numbers that have a bucket (for maintenance and deletes)
//   lb:{b}:w30        sorted set  the 30-day view: MIN-union of the window's buckets, kept current by submissions
//   lb:{b}:w30:day    string      the day the view was built for; any other value (or none) means "rebuild"
//   lb:{b}:sub:<len>:<name>:<id>  string  a submission id seen in the last 24 h (length-prefixed name: unambiguous)
// and one key for all boards:
//   lb:boards         set         board names (not tagged: only board registration, maintenance and deletes read it)
//   lb:owners:{lb:boards}  hash   account → boards it created (MAX_BOARDS_PER_ACCOUNT); tagged with lb:boards'
//                                 own name, so it lies in lb:boards' slot and the two change in one script
// Hash tag: {b}, the board, on every key of a board (board names are [A-Za-z0-9_.-]{1,64}, never a brace), so a
// board is the atomic unit and boards spread over the masters of a Redis Cluster; lb:boards has none.
// Multi-key operations, all inside one board's tag: the scripts submit (all, day, days, w30, w30:day, sub:*),
// rebuildView (w30, w30:day, the window's 30 day buckets, all named in KEYS), page and player (w30 with w30:day);
// the MULTIs of deletePlayer (all, w30, every day bucket) and dropBuckets (day buckets, days). addBoard touches
// lb:boards and lb:owners:{lb:boards} (one slot), boards and hasBoard lb:boards alone. Work over many boards
// (deleting a player everywhere, daily maintenance) reads the boards' day indexes with one pipeline per node
// (perKey), then runs each board's own atomic step; every step is idempotent, so a crash half-way is repaired by
// running it again.
// The layout predates the cluster work (the keys always carried the board tag): there is nothing to migrate.

// Scores are stored negated: ascending order is then "best first, ties by ascending name", which ZSET order gives
// for free, and rank = 1 + ZCOUNT of strictly smaller (= strictly better) values. Callers only see real scores.

const BOARDS_KEY = 'lb:boards'
const OWNERS_KEY = 'lb:owners:{lb:boards}'

const keys = (board: string) => {
  const p = `lb:{${board}}`
  return {
    all: `${p}:all`,
    day: (d: number) => `${p}:day:${d}`,
    days: `${p}:days`,
    view: `${p}:w30`,
    viewDay: `${p}:w30:day`,
    submission: (name: string, id: string) => `${p}:sub:${name.length}:${name}:${id}`
  }
}

type BoardKeys = ReturnType<typeof keys>

// Work over many boards goes in slices, so a million boards never means a million requests in flight at once.
const BATCH = 500
function * chunks<T> (list: readonly T[]): Generator<readonly T[]> {
  for (let i = 0; i < list.length; i += BATCH) yield list.slice(i, i + BATCH)
}

// `0 - x` also turns -0 into 0.
const fromStored = (s: string | number) => 0 - Number(s)

export interface SubmitEntry { name: string, score: number, submission_id?: string }
export interface SubmitTtls { bucketMs: number, viewMs: number, dedupeMs: number }
/** A player's standing right after one submission was applied; `best` is null when the player has no score. */
export interface SubmitRow { best: number | null, rank: number, windowRank: number, duplicate: boolean }

export interface StoredEntry { name: string, score: number }
/** Consecutive entries of a board from 0-based position `start`; `firstRank` is the rank of the first one. */
export interface Slice { start: number, firstRank: number, entries: StoredEntry[] }
export type PageReply =
  | { status: 'BADPAGE', total: number }
  | { status: 'NONAME', total: number }
  | { status: 'OK', total: number, page: Slice, around?: Slice }

type Flat = Array<string | number>

function slice (start: number, firstRank: number, flat: string[]): Slice {
  const entries: StoredEntry[] = []
  for (let i = 0; i < flat.length; i += 2) entries.push({ name: flat[i]!, score: fromStored(flat[i + 1]!) })
  return { start, firstRank, entries }
}

export function createLeaderboardStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'leaderboard', {
    addBoard: ADD_BOARD, submit: SUBMIT, rebuildView: REBUILD_VIEW, page: PAGE, player: PLAYER
  })
  const keyCache = new Map<string, BoardKeys>()
  const keysOf = (board: string) => {
    let k = keyCache.get(board)
    if (!k) {
      k = keys(board)
      if (keyCache.size < 1000) keyCache.set(board, k)
    }
    return k
  }
  // The set a window reads, and (30-day view only) the marker a script checks for staleness.
  const setOf = (board: string, window: Window): string[] => {
    const k = keysOf(board)
    return window === 'all_time' ? [k.all] : [k.view, k.viewDay]
  }
  const windowBuckets = (k: BoardKeys, day: number) => Array.from({ length: WINDOW_DAYS }, (_, i) => k.day(day - i))
  // The day indexes of many boards (one reply per board), read with one pipeline per node.
  const daysOf = async (boards: readonly string[], read: (pipeline: ChainableCommander, key: string) => void) =>
    await perKey<string[]>(redis, boards.map(b => keysOf(b).days), read)

  return {
    /**
     * Registers a board unless that would make more than `max` boards, or more than `perOwner` created by `owner`
     * (undefined: not counted); 'ok', or which limit refused it.
     */
    async addBoard (board: string, max: number, owner?: string, perOwner = 0): Promise<'ok' | 'full' | 'quota'> {
      const res = Number(await scripts.addBoard([BOARDS_KEY, OWNERS_KEY], [board, max, owner ?? '', perOwner]))
      return res === 1 ? 'ok' : res === 0 ? 'full' : 'quota'
    },

    async hasBoard (board: string): Promise<boolean> {
      return await redis.sismember(BOARDS_KEY, board) === 1
    },

    async boards (): Promise<string[]> {
      return await redis.smembers(BOARDS_KEY)
    },

    /**
     * (Re)builds the 30-day view for `day` from the window's buckets. Returns how many buckets went into it, or -1
     * when it was already built for that day or a later one (unless forced).
     */
    async rebuildView (board: string, day: number, ttlMs: number, force = false): Promise<number> {
      const k = keysOf(board)
      return Number(await scripts.rebuildView([k.view, k.viewDay, ...windowBuckets(k, day)], [day, ttlMs, force ? '1' : '0']))
    },

    /**
     * Applies submissions in order, atomically, into today's bucket, the all-time set and the view. 'STALE' (and
     * nothing written) when the view was not built for `day` or later.
     */
    async submit (board: string, day: number, ttls: SubmitTtls, entries: SubmitEntry[]): Promise<'STALE' | SubmitRow[]> {
      const k = keysOf(board)
      const dedupeKeys: string[] = []
      const args: Flat = [day, ttls.bucketMs, ttls.viewMs, ttls.dedupeMs]
      for (const e of entries) {
        let index = 0
        if (e.submission_id) {
          dedupeKeys.push(k.submission(e.name, e.submission_id))
          index = 5 + dedupeKeys.length
        }
        args.push(e.name, String(-e.score), index)
      }
      const reply = await scripts.submit([k.all, k.day(day), k.days, k.view, k.viewDay, ...dedupeKeys], args)
      if (reply === 'STALE') return 'STALE'
      const flat = reply as Flat
      return entries.map((_, i) => ({
        best: flat[i * 4] === '' ? null : fromStored(flat[i * 4]!),
        rank: Number(flat[i * 4 + 1]),
        windowRank: Number(flat[i * 4 + 2]),
        duplicate: flat[i * 4 + 3] === 1
      }))
    },

    /**
     * One page (1-based, `size` entries) of a window, its size and, when `name` is given and that player is past
     * the page, the player with up to 2 neighbours either side. 'STALE' when the 30-day view is not built for `day`.
     */
    async page (board: string, window: Window, day: number, page: number, size: number, name: string):
    Promise<'STALE' | PageReply> {
      const reply = await scripts.page(setOf(board, window), [page, size, name, day]) as Flat
      if (reply[0] === 'STALE') return 'STALE'
      const total = Number(reply[1])
      if (reply[0] === 'BADPAGE') return { status: 'BADPAGE', total }
      if (reply[0] === 'NONAME') return { status: 'NONAME', total }
      type Ok = [string, number, number, number, string[], number, number, string[]]
      const [, , start, firstRank, items, aroundStart, aroundFirst, around] = reply as unknown as Ok
      const out: PageReply = { status: 'OK', total, page: slice(start, firstRank, items) }
      if (aroundStart >= 0) out.around = slice(aroundStart, aroundFirst, around)
      return out
    },

    /** One player's score and rank on a window, null when absent; 'STALE' as for page. */
    async player (board: string, window: Window, day: number, name: string):
    Promise<'STALE' | { score: number, rank: number } | null> {
      const reply = await scripts.player(setOf(board, window), [name, day]) as Flat
      if (reply[0] === 'STALE') return 'STALE'
      if (reply[0] !== 'OK') return null
      return { score: fromStored(reply[1]!), rank: Number(reply[2]) }
    },

    /**
     * Removes a player from the given boards, both windows and every day bucket; returns the boards they were on.
     * One MULTI per board (a reader never sees a board half-cleaned); the boards' day indexes are read in one round.
     */
    async deletePlayer (boards: readonly string[], name: string): Promise<string[]> {
      const found: string[] = []
      for (const chunk of chunks(boards)) {
        const days = await daysOf(chunk, (p, k) => { p.zrange(k, 0, -1) })
        const removed = await Promise.all(chunk.map(async (board, i) => {
          const k = keysOf(board)
          const tx = redis.multi().zrem(k.all, name).zrem(k.view, name)
          for (const d of days[i]!) tx.zrem(k.day(Number(d)), name)
          const res = await tx.exec()
          return res?.some(([err, n]) => !err && n === 1) ?? false
        }))
        found.push(...chunk.filter((_b, i) => removed[i]))
      }
      return found
    },

    /**
     * Daily maintenance of the given boards: deletes the day buckets of days up to and including `lastDay` (one
     * MULTI per board that has any) and rebuilds every board's 30-day view for `day` (one script per board, sent
     * with one pipeline per node). Returns how many buckets existed.
     */
    async maintain (boards: readonly string[], lastDay: number, day: number, viewTtlMs: number): Promise<number> {
      let dropped = 0
      for (const chunk of chunks(boards)) {
        const old = await daysOf(chunk, (p, k) => { p.zrangebyscore(k, '-inf', lastDay) })
        const counts = await Promise.all(chunk.map(async (board, i) => {
          if (old[i]!.length === 0) return 0
          const k = keysOf(board)
          const res = await redis.multi().del(...old[i]!.map(d => k.day(Number(d)))).zrem(k.days, ...old[i]!).exec()
          return Number(res?.[0]?.[1] ?? 0)
        }))
        dropped += counts.reduce((a, b) => a + b, 0)
        // Each script call is routed by its first key, the board's view: one per board, grouped by node.
        await perKey(redis, chunk.map(b => keysOf(b).view), (p, _k, i) => {
          const k = keysOf(chunk[i]!)
          scripts.rebuildView.queue(p, [k.view, k.viewDay, ...windowBuckets(k, day)], [day, viewTtlMs, '1'])
        })
      }
      return dropped
    }
  }
}

export type LeaderboardStore = ReturnType<typeof createLeaderboardStore>
