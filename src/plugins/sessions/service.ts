import { createHash } from 'node:crypto'
import type { Clock } from '../../clock.js'
import { InvalidArgumentError } from '../../errors.js'
import { countryCode } from './countries.js'
import { formatTimestamp, parseTimestamp } from './timestamps.js'
import {
  RETENTION_MS, expiryMs, type EventKind, type SessionEvent, type SessionStore, type StartPosition
} from './store.js'

export const MAX_BATCH = 10
export const MAX_ID_LENGTH = 64
/** How far ahead of our clock a client's clock may run. */
export const MAX_SKEW_MS = 5 * 60 * 1000
export const MAX_HOURS = 8760
export const COMPLETED_LIMIT = { default: 20, max: 100 }
export const STARTS_LIMIT = { default: 100, max: 1000 }
/** Longest cursor accepted: two 64-character ids and three numbers, base64url, with room to spare. */
export const MAX_CURSOR_LENGTH = 600

const FIELDS = new Set(['event', 'player_id', 'session_id', 'ts', 'country'])
// Control characters are refused so that ids can be joined with '\n' in storage and logged safely.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

export interface PutEventsResult {
  accepted: number
  duplicates: number
  rejected: Array<{ index: number, message: string }>
}

export interface CompletedSessionView {
  session_id: string
  player_id: string
  country: string
  start: string
  end: string
  duration_seconds: number
}

export interface StartsView {
  since: string
  until: string
  total: number
  countries: Record<string, {
    count: number
    sessions: Array<{ session_id: string, player_id: string, ts: string }>
    next_cursor?: string
  }>
}

function idProblem (name: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || CONTROL.test(value)) {
    return `${name} must be a string of 1-${MAX_ID_LENGTH} characters without control characters`
  }
  return undefined
}

/** Validates one raw event against the format and the clock: the event, or why it is refused. */
export function validateEvent (raw: unknown, nowMs: number): { event: SessionEvent } | { message: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { message: 'event must be a JSON object' }
  const o = raw as Record<string, unknown>
  const unknown = Object.keys(o).filter(k => !FIELDS.has(k))
  if (unknown.length > 0) return { message: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map(k => `"${k}"`).join(', ')}` }
  if (o.event !== 'start' && o.event !== 'end') return { message: 'event must be "start" or "end"' }
  const kind: EventKind = o.event
  const problem = idProblem('player_id', o.player_id) ?? idProblem('session_id', o.session_id)
  if (problem) return { message: problem }
  const tsUs = typeof o.ts === 'string' ? parseTimestamp(o.ts) : undefined
  if (tsUs === undefined) return { message: 'ts must be an ISO-8601 date-time such as 2016-12-02T12:48:05.520022' }
  let country: string | undefined
  if (kind === 'start') {
    country = countryCode(o.country)
    if (!country) return { message: 'country must be a two-letter ISO 3166-1 alpha-2 code such as FI (required on start events)' }
  } else if (o.country !== undefined && o.country !== null && !countryCode(o.country)) {
    // An end event's country is not needed (the start carries it) and is ignored, but a malformed one is an error.
    return { message: 'country must be a two-letter ISO 3166-1 alpha-2 code such as FI' }
  }
  const tsMs = Math.floor(tsUs / 1000)
  if (expiryMs(tsUs) <= nowMs) return { message: 'ts is older than the 1-year retention' }
  if (tsMs > nowMs + MAX_SKEW_MS) return { message: `ts is more than ${MAX_SKEW_MS / 60_000} minutes in the future` }
  const event: SessionEvent = { kind, sessionId: o.session_id as string, playerId: o.player_id as string, tsUs }
  if (country) event.country = country
  return { event }
}

/** `hours` of GET /start_players_events/:hours: a plain decimal number > 0 and ≤ 8760. */
export function parseHours (raw: string): number {
  const hours = /^\d+(\.\d+)?$|^\.\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!(hours > 0 && hours <= MAX_HOURS)) {
    throw new InvalidArgumentError(`hours must be a number greater than 0 and at most ${MAX_HOURS} (got "${raw}")`)
  }
  return hours
}

function checkLimit (limit: number, bounds: { max: number }, min: number): number {
  if (!Number.isInteger(limit) || limit < min || limit > bounds.max) {
    throw new InvalidArgumentError(`limit must be an integer between ${min} and ${bounds.max}`)
  }
  return limit
}

/** Where a page of one country's window listing goes on from: the window end it is anchored to, and the position. */
export interface WindowCursor { country: string, untilUs: number, last?: StartPosition }

const CURSOR_VERSION = 1

const CHECK_BYTES = 8
const check = (payload: Buffer) => createHash('sha256').update(payload).digest().subarray(0, CHECK_BYTES)

/**
 * A cursor is base64url of `[1, country, until µs, ts µs, session_id, player_id]` (the last three null before the
 * first listed session) followed by 8 bytes of its SHA-256, so that a cursor altered in any byte is refused. A
 * checksum, not a signature: a made-up cursor still reads one bounded page of one country, which a request
 * without a cursor reads too, so no secret has to be shared by the replicas.
 */
export function encodeCursor ({ country, untilUs, last }: WindowCursor): string {
  const position = last ? [last.tsUs, last.sessionId, last.playerId] : [null, null, null]
  const payload = Buffer.from(JSON.stringify([CURSOR_VERSION, country, untilUs, ...position]))
  return Buffer.concat([payload, check(payload)]).toString('base64url')
}

const badCursor = (why: string) =>
  new InvalidArgumentError(`cursor is not a next_cursor of this endpoint (${why}); start again without one`)

/** The cursor, or a 400 naming `cursor`; `nowUs` bounds the window end it may carry. */
export function decodeCursor (raw: string, nowUs: number): WindowCursor {
  if (raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) throw badCursor('malformed')
  const bytes = Buffer.from(raw, 'base64url')
  // Node decodes leniently: only the canonical text of its bytes is a cursor we wrote.
  if (bytes.toString('base64url') !== raw || bytes.length <= CHECK_BYTES) throw badCursor('malformed')
  const payload = bytes.subarray(0, -CHECK_BYTES)
  if (!check(payload).equals(bytes.subarray(-CHECK_BYTES))) throw badCursor('altered')
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    throw badCursor('malformed')
  }
  if (!Array.isArray(value) || value.length !== 6 || value[0] !== CURSOR_VERSION) throw badCursor('malformed')
  const [, country, untilUs, tsUs, sessionId, playerId] = value as unknown[]
  if (typeof country !== 'string' || countryCode(country) !== country) throw badCursor('malformed')
  const until = untilUs as number
  if (!Number.isSafeInteger(until) || until > nowUs || until <= nowUs - RETENTION_MS * 1000) {
    throw badCursor('its window is not within the last year')
  }
  if (tsUs === null && sessionId === null && playerId === null) return { country, untilUs: untilUs as number }
  if (!Number.isSafeInteger(tsUs) || (tsUs as number) > (untilUs as number) ||
    idProblem('session_id', sessionId) || idProblem('player_id', playerId)) throw badCursor('malformed')
  return {
    country,
    untilUs: untilUs as number,
    last: { tsUs: tsUs as number, sessionId: sessionId as string, playerId: playerId as string }
  }
}

/** What picks the per-country page mode of GET /start_players_events/:hours. */
export interface StartsPageQuery { country?: string | undefined, cursor?: string | undefined }

/**
 * `maxListed`: the most sessions one window answer lists in all countries together (SESSIONS_WINDOW_MAX_LISTED);
 * counts stay exact.
 */
export function createSessions ({ store, clock, maxListed = 10_000 }: {
  store: SessionStore, clock: Clock, maxListed?: number
}) {
  async function startsByCountryJson (hoursRaw: string | number, limit = STARTS_LIMIT.default,
    page: StartsPageQuery = {}): Promise<string> {
    const hours = parseHours(String(hoursRaw))
    const nowUs = clock.now() * 1000
    if (page.country !== undefined || page.cursor !== undefined) return await countryPage(hours, limit, page, nowUs)
    checkLimit(limit, STARTS_LIMIT, 0)
    const untilUs = nowUs
    const sinceUs = untilUs - Math.round(hours * 3600e6)
    // A country listed only in part gets the cursor of its next page.
    const { total, countriesJson } = await store.startsBetween(sinceUs, untilUs, limit, maxListed,
      (country, last) => encodeCursor({ country, untilUs, ...(last ? { last } : {}) }))
    return windowJson(sinceUs, untilUs, total, countriesJson)
  }

  /**
   * One page of one country: the window ends where the cursor says (the first page: now), so starts that come in
   * while a client pages never shift its pages; `hours` still sets how far back it reaches.
   */
  async function countryPage (hours: number, limit: number, page: StartsPageQuery, nowUs: number): Promise<string> {
    let country = page.country === undefined ? undefined : countryCode(page.country)
    if (page.country !== undefined && country === undefined) {
      throw new InvalidArgumentError('country must be a two-letter ISO 3166-1 alpha-2 code such as FI')
    }
    checkLimit(limit, STARTS_LIMIT, 1)
    const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor, nowUs)
    if (cursor && country !== undefined && cursor.country !== country) {
      throw badCursor(`it pages ${cursor.country}, not ${country}`)
    }
    country ??= cursor!.country
    const untilUs = cursor?.untilUs ?? nowUs
    const sinceUs = untilUs - Math.round(hours * 3600e6)
    // A page is an answer too: never more than maxListed sessions.
    const size = Math.min(limit, maxListed)
    const { count, sessionsJson, last, more } = await store.startsPage(country, sinceUs, untilUs, size, cursor?.last)
    const next = more && last ? `,"next_cursor":${JSON.stringify(encodeCursor({ country, untilUs, last }))}` : ''
    const countries = count === 0 ? '{}' : `{"${country}":{"count":${count},"sessions":[${sessionsJson}]${next}}}`
    return windowJson(sinceUs, untilUs, count, countries)
  }

  // Keys in the order of StartsByCountrySchema, as the route's serializer would write them.
  const windowJson = (sinceUs: number, untilUs: number, total: number, countriesJson: string) =>
    `{"since":"${formatTimestamp(sinceUs)}","until":"${formatTimestamp(untilUs)}","total":${total},` +
    `"countries":${countriesJson}}`

  return {
    /** Validates and stores a batch from a game client; per-event outcomes, never a half-stored event. */
    async putEvents (body: unknown): Promise<PutEventsResult> {
      if (!Array.isArray(body)) throw new InvalidArgumentError('body must be a JSON array of events')
      if (body.length === 0) throw new InvalidArgumentError('body must hold at least 1 event')
      if (body.length > MAX_BATCH) {
        throw new InvalidArgumentError(`body must hold at most ${MAX_BATCH} events (got ${body.length})`)
      }
      const nowMs = clock.now()
      const result: PutEventsResult = { accepted: 0, duplicates: 0, rejected: [] }
      const valid: Array<{ index: number, event: SessionEvent }> = []
      body.forEach((raw, index) => {
        const checked = validateEvent(raw, nowMs)
        if ('event' in checked) valid.push({ index, event: checked.event })
        else result.rejected.push({ index, message: checked.message })
      })
      const outcomes = await store.putEvents(valid.map(v => v.event), nowMs)
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'accepted') result.accepted++
        else if (outcome.status === 'duplicate') result.duplicates++
        else result.rejected.push({ index: valid[i]?.index ?? -1, message: outcome.message })
      })
      result.rejected.sort((a, b) => a.index - b.index)
      return result
    },

    /** The player's newest completed sessions, newest end first. */
    async completedSessions (playerId: string, limit = COMPLETED_LIMIT.default): Promise<CompletedSessionView[]> {
      checkLimit(limit, COMPLETED_LIMIT, 1)
      if (idProblem('player_id', playerId)) return []
      const rows = await store.completed(playerId, limit, clock.now())
      return rows.map(r => ({
        session_id: r.sessionId,
        player_id: r.playerId,
        country: r.country,
        start: formatTimestamp(r.startUs),
        end: formatTimestamp(r.endUs),
        duration_seconds: (r.endUs - r.startUs) / 1e6
      }))
    },

    /**
     * Sessions started in the last `hours` (exclusive of `since`, inclusive of now), grouped by country, as the JSON
     * text GET /start_players_events sends: an answer lists up to 1,000 sessions per country, and building and
     * serializing an object per session cost more than the whole query (see docs/sessions.md).
     */
    startsByCountryJson,

    /** The same answer as an object. */
    async startsByCountry (hoursRaw: string | number, limit?: number, page?: StartsPageQuery): Promise<StartsView> {
      return JSON.parse(await startsByCountryJson(hoursRaw, limit, page)) as StartsView
    }
  }
}

export type Sessions = ReturnType<typeof createSessions>
