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
// Hash tag: {b}, the board, on every key of a board; lb:boards has none.
// Multi-key operations, all inside one board's tag: the scripts submit (all, day, days, w30, w30:day, sub:*),
// rebuildView (w30, w30:day, the window's 30 day buckets), page and player (w30 with w30:day); the MULTIs of
// deletePlayer (all, w30, every day bucket) and dropBuckets (day buckets, days). addBoard and boards touch
// lb:boards alone.
//
// Scores are stored negated: ascending order is then "best first, ties by ascending name", which ZSET order gives
// for free, and rank = 1 + ZCOUNT of strictly smaller (= strictly better) values. Callers only see real scores.

const BOARDS_KEY = 'lb:boards'

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
  const keyCache = new Map<string, ReturnType<typeof keys>>()
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

  return {
    /** Registers a board unless that would make more than `max` boards; false when refused. */
    async addBoard (board: string, max: number): Promise<boolean> {
      return await scripts.addBoard([BOARDS_KEY], [board, max]) === 1
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
      const buckets = Array.from({ length: WINDOW_DAYS }, (_, i) => k.day(day - i))
      return Number(await scripts.rebuildView([k.view, k.viewDay, ...buckets], [day, ttlMs, force ? '1' : '0']))
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

    /** Removes a player from one board, both windows and every day bucket; true when they were on it. */
    async deletePlayer (board: string, name: string): Promise<boolean> {
      const k = keysOf(board)
      const days = await redis.zrange(k.days, 0, -1)
      const tx = redis.multi().zrem(k.all, name).zrem(k.view, name)
      for (const d of days) tx.zrem(k.day(Number(d)), name)
      const res = await tx.exec()
      return res?.some(([err, n]) => !err && n === 1) ?? false
    },

    /** Deletes the day buckets of days up to and including `lastDay`; returns how many existed. */
    async dropBuckets (board: string, lastDay: number): Promise<number> {
      const k = keysOf(board)
      const old = await redis.zrangebyscore(k.days, '-inf', lastDay)
      if (old.length === 0) return 0
      const res = await redis.multi().del(...old.map(d => k.day(Number(d)))).zrem(k.days, ...old).exec()
      return Number(res?.[0]?.[1] ?? 0)
    }
  }
}

export type LeaderboardStore = ReturnType<typeof createLeaderboardStore>
