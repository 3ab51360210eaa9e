// The storage contract of player sessions. Two implementations (redis-store.ts, cassandra-store.ts) pass one
// contract test suite (test/domains/sessions/contract.ts); the service validates and the store only stores.
import { formatTimestamp } from './timestamps.js'

export const RETENTION_MS = 365 * 24 * 3600 * 1000
export const HOUR_MS = 3600 * 1000
export const HOUR_US = HOUR_MS * 1000
export const DAY_US = 24 * HOUR_US

export type EventKind = 'start' | 'end'

/** An event that passed validation. Times are microseconds since the epoch. */
export interface SessionEvent {
  kind: EventKind
  sessionId: string
  playerId: string
  tsUs: number
  /** Upper-case ISO 3166-1 alpha-2; start events only. */
  country?: string
}

/** What became of one event: stored, already known (nothing changed), or refused by what is already stored. */
export type EventOutcome = { status: 'accepted' } | { status: 'duplicate' } | { status: 'rejected', message: string }

export interface CompletedSession {
  sessionId: string
  playerId: string
  country: string
  startUs: number
  endUs: number
}

export interface StartedSession { sessionId: string, playerId: string, tsUs: number }

export interface StartsByCountry {
  total: number
  countries: Record<string, { count: number, sessions: StartedSession[] }>
}

/**
 * A window answer with its `countries` member already rendered as JSON text (countries in code order, each
 * `{"count":n,"sessions":[…]}`). The answer can carry thousands of sessions: the Redis store keeps each one
 * pre-rendered and hands the text over, so no object is built per session on the way out.
 */
export interface StartsJson { total: number, countriesJson: string }

/** Where a page of one country's starts ended: its last listed session (what a cursor carries). */
export interface StartPosition { tsUs: number, sessionId: string, playerId: string }

/**
 * Continuation of a country that a window answer lists only in part: the `next_cursor` text (the service encodes
 * it) for the country's last listed start, or for none when the answer's budget left the country unlisted.
 */
export type Continue = (country: string, last: StartPosition | undefined) => string

/** One page of a country's starts, newest first, already rendered (each session as the window answer lists it). */
export interface CountryPage {
  /** Exact number of the country's starts in the window. */
  count: number
  /** The page's sessions as JSON, comma-separated (the inside of `"sessions":[…]`). */
  sessionsJson: string
  /** The page's last session, when it listed any. */
  last?: StartPosition
  /** Whether starts follow the page (older ones, or ties with a lower session id). */
  more: boolean
}

export interface SessionStore {
  /**
   * Stores each event atomically (all of its rows or none), in order, and returns one outcome per event.
   * `nowMs` is the app clock; every row expires RETENTION_MS after its own event time.
   */
  putEvents (events: SessionEvent[], nowMs: number): Promise<EventOutcome[]>
  /** The player's newest completed sessions by end time (ties: session id descending), live ones only. */
  completed (playerId: string, limit: number, nowMs: number): Promise<CompletedSession[]>
  /**
   * Sessions started in (sinceUs, untilUs], per country: exact counts, the newest `limit` per country
   * (ties: session id descending), and at most `maxListed` listed in all (newest buckets first). Served from time
   * buckets.
   */
  startsBetween (sinceUs: number, untilUs: number, limit: number, maxListed?: number, next?: Continue):
  Promise<StartsJson>
  /**
   * One page of `country`'s starts in (sinceUs, untilUs], in the order of the window answer, after `after` (the
   * previous page's last session; none: from the newest). Reads only from the position on, never the starts of
   * earlier pages again; the count stays exact.
   */
  startsPage (country: string, sinceUs: number, untilUs: number, limit: number, after?: StartPosition):
  Promise<CountryPage>
}

export interface WindowCell { hour: number, country: string }

/**
 * Shared by both stores for the window query: given the (hour, country) cells newest hour first and their exact
 * counts, the totals per country and the cells to list, taking each country's newest `limit` starts from as few
 * buckets as possible. The stores then fetch `wanted` and append the sessions in order.
 */
export function planWindow (cells: WindowCell[], counts: number[], limit: number, maxListed = Infinity):
{ result: StartsByCountry, wanted: Array<WindowCell & { take: number }> } {
  const result: StartsByCountry = { total: 0, countries: {} }
  const remaining: Record<string, number> = {}
  let budget = maxListed
  const wanted: Array<WindowCell & { take: number }> = []
  cells.forEach(({ hour, country }, i) => {
    const n = counts[i] ?? 0
    if (n === 0) return
    result.total += n
    const entry = (result.countries[country] ??= { count: 0, sessions: [] })
    entry.count += n
    const take = Math.min(n, remaining[country] ??= limit, budget)
    if (take > 0) {
      remaining[country] -= take
      budget -= take
      wanted.push({ hour, country, take })
    }
  })
  return { result, wanted }
}

/** One listed session of a window answer as JSON, exactly as GET /start_players_events sends it. */
export const startedJson = (sessionId: string, playerId: string, tsUs: number) =>
  `{"session_id":${JSON.stringify(sessionId)},"player_id":${JSON.stringify(playerId)},"ts":"${formatTimestamp(tsUs)}"}`

/**
 * The JSON of one country of a window answer; a country listed only in part gets `next_cursor` after the fields
 * clients have always read (a field they ignore), from `next` with the last listed session.
 */
export function countryJson (count: number, listed: number, sessionsJson: string, next: Continue | undefined,
  cc: string, last: () => StartPosition | undefined): string {
  const more = next !== undefined && listed < count ? `,"next_cursor":${JSON.stringify(next(cc, last()))}` : ''
  return `{"count":${count},"sessions":[${sessionsJson}]${more}}`
}

/** The `countries` JSON of a window answer from its objects (stores that don't keep starts pre-rendered). */
export function renderCountries (found: StartsByCountry, next?: Continue): StartsJson {
  const parts = Object.keys(found.countries).sort().map((cc) => {
    const { count, sessions } = found.countries[cc]!
    const json = sessions.map(s => startedJson(s.sessionId, s.playerId, s.tsUs)).join(',')
    return `"${cc}":${countryJson(count, sessions.length, json, next, cc, () => sessions[sessions.length - 1])}`
  })
  return { total: found.total, countriesJson: `{${parts.join(',')}}` }
}

/** Hour bucket (hours since the epoch) of a time in microseconds. */
export const hourOf = (us: number) => Math.floor(us / HOUR_US)
/** Day bucket (UTC days since the epoch) of a time in microseconds. */
export const dayOf = (us: number) => Math.floor(us / DAY_US)

/**
 * Unix ms at which a row written for an event at `tsUs` expires: the first millisecond not before ts + 365 days
 * (rounding up keeps it consistent with windows that are exclusive at `since`, e.g. the full 8760-hour one).
 */
export const expiryMs = (tsUs: number) => Math.ceil(tsUs / 1000) + RETENTION_MS

export const REJECT = {
  otherPlayer: 'session_id already belongs to another player',
  endBeforeStart: 'end is before the session start',
  startAfterEnd: 'start is after the session end'
}
