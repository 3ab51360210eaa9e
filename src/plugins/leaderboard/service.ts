import type { Clock } from '../../clock.js'
import type { Config } from '../../config.js'
import { ForbiddenError, InvalidArgumentError, NotFoundError } from '../../errors.js'
import type { LeaderboardStore, Slice } from './redis-store.js'
import { WINDOW_DAYS } from './scripts.js'

export const DAY_MS = 86_400_000
/** The 30-day board covers today and the previous 29 UTC days. */
export { WINDOW_DAYS }

export const MAX_SCORE = 4_294_967_295
export const DEFAULT_BOARD = 'default'
export const MAX_NAME_LENGTH = 128
const DEDUPE_TTL_MS = DAY_MS
// Keys outlive their last day of use by this much, so an expiry never races a read at a day boundary.
const GRACE_MS = 3_600_000
const BOARD_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/

export type Window = 'all_time' | 'last_30_days'
export interface ScoreEntry { name: string, score: number, submission_id?: string }
export interface ScoreResult {
  name: string
  /** The player's best all-time score after the submission. */
  score: number
  rank: number
  window_rank: number
  duplicate: boolean
}
export interface BoardRecord { name: string, score: number, rank: number }
/** The account behind a submission, for the per-account board quota. */
export interface Owner { name: string, admin?: boolean }
export interface BoardPage { results: BoardRecord[], around_me: BoardRecord[], next_page: number, total: number }
export interface PageQuery {
  board?: string
  window?: Window
  page?: number
  name?: string
  /** Page size for in-process callers (the live page's top 10); the API doors always use PAGE_SIZE. */
  size?: number
}

export const dayOf = (ms: number) => Math.floor(ms / DAY_MS)

export function checkBoard (board: string | undefined): string {
  if (board === undefined || board === '') return DEFAULT_BOARD
  if (!BOARD_PATTERN.test(board)) throw new InvalidArgumentError('board must be 1-64 of A-Z a-z 0-9 _ . -')
  return board
}

function nameProblem (name: unknown): string | undefined {
  if (typeof name !== 'string') return 'name must be a string'
  if (name.length === 0) return 'name must not be empty'
  if (name.length > MAX_NAME_LENGTH) return `name must be at most ${MAX_NAME_LENGTH} characters`
  return undefined
}

function scoreProblem (score: unknown): string | undefined {
  if (typeof score !== 'number' || !Number.isInteger(score) || score < 0 || score > MAX_SCORE) {
    return `score must be an integer between 0 and ${MAX_SCORE}`
  }
  return undefined
}

function submissionIdProblem (id: unknown): string | undefined {
  if (id === undefined || id === '') return undefined
  if (typeof id !== 'string' || id.length > 128) return 'submission_id must be a string of at most 128 characters'
  return undefined
}

/** The problem with one submission, or undefined when it is valid. */
export function entryProblem (entry: { name: unknown, score: unknown, submission_id?: unknown }): string | undefined {
  return nameProblem(entry.name) ?? scoreProblem(entry.score) ?? submissionIdProblem(entry.submission_id)
}

/**
 * Validates a POST /scores body: 1..maxBatch entries, each `{ name, score, submission_id? }` or `[name, score]`.
 * Throws naming the first bad entry (0-based index), so nothing is written for a batch with any bad entry.
 */
export function parseEntries (body: unknown, maxBatch: number): ScoreEntry[] {
  if (!Array.isArray(body) || body.length === 0 || body.length > maxBatch) {
    throw new InvalidArgumentError(`body must be an array of 1 to ${maxBatch} entries`)
  }
  return body.map((raw: unknown, i) => {
    let entry: { name: unknown, score: unknown, submission_id?: unknown }
    if (Array.isArray(raw)) {
      if (raw.length !== 2) throw new InvalidArgumentError(`entries[${i}]: a pair must be [name, score]`, { index: i })
      entry = { name: raw[0], score: raw[1] }
    } else if (raw !== null && typeof raw === 'object') {
      entry = raw as typeof entry
    } else {
      throw new InvalidArgumentError(`entries[${i}]: must be { name, score } or [name, score]`, { index: i })
    }
    const problem = entryProblem(entry)
    if (problem) throw new InvalidArgumentError(`entries[${i}]: ${problem}`, { index: i })
    const out: ScoreEntry = { name: entry.name as string, score: entry.score as number }
    if (entry.submission_id) out.submission_id = entry.submission_id as string
    return out
  })
}

function records ({ entries, start, firstRank }: Slice): BoardRecord[] {
  const out: BoardRecord[] = []
  let rank = firstRank
  for (let i = 0; i < entries.length; i++) {
    const { name, score } = entries[i]!
    // Competition ranking: a new score starts at its position; a repeated score keeps the rank before it.
    if (i > 0 && score !== out[out.length - 1]!.score) rank = start + i + 1
    out.push({ name, score, rank })
  }
  return out
}

const label = (window: Window) => window === 'all_time' ? 'all-time' : 'last-30-days'

// The original contract of a listing: a page out of range and a name not on the board are INVALID_ARGUMENT whose
// gRPC status message is exactly the field's name (its clients compare it); the explanation is the description of
// the field violation, and REST's message.
const PAGE_HINTS = { field: 'page', reason: 'PAGE_OUT_OF_RANGE', grpcMessage: 'page' } as const
const NAME_HINTS = { field: 'name', reason: 'PLAYER_NOT_ON_BOARD', grpcMessage: 'name' } as const

export interface LeaderboardDeps {
  store: LeaderboardStore
  clock: Clock
  config: Pick<Config, 'PAGE_SIZE'> & Partial<Pick<Config, 'MAX_BOARDS' | 'MAX_BOARDS_PER_ACCOUNT'>>
}

export function createLeaderboard ({ store, clock, config }: LeaderboardDeps) {
  const knownBoards = new Set<string>()
  const viewTtl = (day: number, now: number) => (day + 1) * DAY_MS - now + GRACE_MS
  // A bucket is read up to and including day + 29.
  const bucketTtl = (day: number, now: number) => (day + WINDOW_DAYS) * DAY_MS - now + GRACE_MS

  // Store calls that touch the 30-day view answer STALE (before writing anything) when the view was built for
  // another day: the caller rebuilds it from the buckets and calls again. Retrying is therefore safe.
  // A board nobody submitted to has no view either: reading it answers `undefined` and writes nothing (a view built
  // for every name a reader makes up would be a key per name).
  async function withFreshView<T> (board: string, run: (day: number, now: number) => Promise<T | 'STALE'>):
  Promise<T | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = clock.now()
      const day = dayOf(now)
      const result = await run(day, now)
      if (result !== 'STALE') return result
      if (!knownBoards.has(board) && !await store.hasBoard(board)) return undefined
      await store.rebuildView(board, day, viewTtl(day, now))
    }
    throw new Error(`30-day view of board ${board} keeps going stale`)
  }

  /**
   * `owner`: the account submitting; a board it is the first to submit to counts against its
   * MAX_BOARDS_PER_ACCOUNT (admins, and callers with no account such as jobs, are not counted).
   */
  async function submit (entries: ScoreEntry[], boardName?: string, owner?: Owner): Promise<ScoreResult[]> {
    const board = checkBoard(boardName)
    if (entries.length === 0) return []
    if (!knownBoards.has(board)) {
      // Every board is kept (and maintained) until deleted, so clients can't make us keep an unbounded number.
      const max = config.MAX_BOARDS ?? 1000
      const perOwner = config.MAX_BOARDS_PER_ACCOUNT ?? 10
      const counted = owner && !owner.admin ? owner.name : undefined
      const added = await store.addBoard(board, max, counted, perOwner)
      if (added === 'full') throw new InvalidArgumentError(`board ${board} would be more than MAX_BOARDS (${max}) boards`)
      if (added === 'quota') {
        throw new ForbiddenError(`board ${board} would be more than the ${perOwner} boards an account may create ` +
          '(MAX_BOARDS_PER_ACCOUNT)')
      }
      knownBoards.add(board)
    }
    const results = await withFreshView(board, async (day, now) => {
      const ttls = { bucketMs: bucketTtl(day, now), viewMs: viewTtl(day, now), dedupeMs: DEDUPE_TTL_MS }
      const rows = await store.submit(board, day, ttls, entries)
      if (rows === 'STALE') return 'STALE'
      return entries.map((e, i) => ({
        name: e.name,
        score: rows[i]!.best ?? 0,
        rank: rows[i]!.rank,
        window_rank: rows[i]!.windowRank,
        duplicate: rows[i]!.duplicate
      }))
    })
    if (!results) throw new Error(`board ${board} is registered but not found`)
    return results
  }

  return {
    /**
     * Applies submissions (already validated) atomically, in order; each result is the player's standing right
     * after that entry was applied.
     */
    submit,

    async submitOne (entry: ScoreEntry, board?: string, owner?: Owner): Promise<ScoreResult> {
      const problem = entryProblem(entry)
      if (problem) throw new InvalidArgumentError(problem)
      return (await submit([entry], board, owner))[0]!
    },

    async page (query: PageQuery): Promise<BoardPage> {
      const board = checkBoard(query.board)
      const window = query.window ?? 'all_time'
      const page = query.page || 1
      if (!Number.isInteger(page) || page < 0 || page > MAX_SCORE) {
        throw new InvalidArgumentError('page must be an integer >= 0', undefined, PAGE_HINTS)
      }
      const name = query.name ?? ''
      if (name !== '') {
        const problem = nameProblem(name)
        if (problem) throw new InvalidArgumentError(problem)
      }
      const size = query.size ?? config.PAGE_SIZE
      const reply = await withFreshView(board, async (day) => await store.page(board, window, day, page, size, name))
      if (!reply) {
        // No such board: the answer of an empty one (the same errors, with the same field hints).
        if (name !== '') {
          throw new InvalidArgumentError(`player "${name}" is not on the ${label(window)} board`, undefined, NAME_HINTS)
        }
        if (page > 1) {
          throw new InvalidArgumentError(`page ${page} is past the last page (1) of the ${label(window)} board`,
            undefined, PAGE_HINTS)
        }
        return { results: [], around_me: [], next_page: 0, total: 0 }
      }
      const total = reply.total
      if (reply.status === 'BADPAGE') {
        throw new InvalidArgumentError(`page ${page} is past the last page (${Math.max(1, Math.ceil(total / size))}) of the ${label(window)} board`,
          undefined, PAGE_HINTS)
      }
      if (reply.status === 'NONAME') {
        throw new InvalidArgumentError(`player "${name}" is not on the ${label(window)} board`, undefined, NAME_HINTS)
      }
      return {
        results: records(reply.page),
        around_me: reply.around ? records(reply.around) : [],
        next_page: page < Math.ceil(total / size) ? page + 1 : 0,
        total
      }
    },

    /** One player's score and rank on a board; NotFoundError when absent. */
    async player (name: string, opts: { board?: string, window?: Window } = {}): Promise<BoardRecord> {
      const board = checkBoard(opts.board)
      const window = opts.window ?? 'all_time'
      const problem = nameProblem(name)
      if (problem) throw new InvalidArgumentError(problem)
      const found = await withFreshView(board, async (day) => await store.player(board, window, day, name))
      if (!found) throw new NotFoundError(`player "${name}" is not on the ${label(window)} board`)
      return { name, score: found.score, rank: found.rank }
    },

    /**
     * A player's standing on one window: rank, score and up to 2 neighbours on each side (the around_me view,
     * also when the player is on the first page). NotFoundError when absent.
     */
    async standing (name: string, opts: { board?: string, window?: Window } = {}):
    Promise<BoardRecord & { around: BoardRecord[] }> {
      const first = await this.page({ ...opts, page: 1, name }).catch((err: unknown) => {
        // In a listing an unknown name is bad input (the original contract); asked about directly, it is not found.
        if (err instanceof InvalidArgumentError && err.hints === NAME_HINTS) throw new NotFoundError(err.message)
        throw err
      })
      if (first.around_me.length > 0) {
        const me = first.around_me.find(r => r.name === name)!
        return { ...me, around: first.around_me }
      }
      const at = first.results.findIndex(r => r.name === name)
      const me = first.results[at]!
      return { ...me, around: first.results.slice(Math.max(0, at - 2), at + 3) }
    },

    /** Removes a player from every board (or from one); returns the boards they were on. */
    async deletePlayer (name: string, boardName?: string): Promise<string[]> {
      const problem = nameProblem(name)
      if (problem) throw new InvalidArgumentError(problem)
      const boards = boardName ? [checkBoard(boardName)] : (await store.boards()).sort()
      return await store.deletePlayer(boards, name)
    },

    /**
     * Daily maintenance (idempotent): drops day buckets that left the window and rebuilds each board's
     * 30-day view. Reads never depend on it: they only ever look at the window's buckets.
     */
    async maintain (): Promise<{ boards: number, droppedBuckets: number, day: number }> {
      const now = clock.now()
      const day = dayOf(now)
      const boards = await store.boards()
      const dropped = await store.maintain(boards, day - WINDOW_DAYS, day, viewTtl(day, now))
      return { boards: boards.length, droppedBuckets: dropped, day }
    }
  }
}

export type LeaderboardService = ReturnType<typeof createLeaderboard>
