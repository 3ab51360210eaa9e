// The one contract of the sessions stores: every test here runs, through the HTTP API, against each store
// (sessions-redis.test.ts, sessions-cassandra.test.ts). Each test gets an empty store of its own.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { manualClock } from '../../../src/clock.js'
import {
  batches, clientTimestamp, generateSessions, shuffle, toEvents, type ClientEvent, type GeneratedSession
} from '../../../src/cli/session-generator.js'
import { formatTimestamp, parseTimestamp } from '../../../src/plugins/sessions/timestamps.js'
import { expiryMs } from '../../../src/plugins/sessions/store.js'
import { encodeCursor } from '../../../src/plugins/sessions/service.js'

type Test = import('tap').Test
type Clock = ReturnType<typeof manualClock>
type Listed = Array<{ session_id: string, player_id: string, ts: string }>
type Completed = Array<{
  session_id: string, player_id: string, country: string, start: string, end: string, duration_seconds: number
}>
interface Window {
  since: string
  until: string
  total: number
  countries: Record<string, { count: number, sessions: Listed, next_cursor?: string }>
}

export interface StoreUnderTest {
  /** An app whose sessions store is empty and its own, on `clock`. */
  app (t: Test, clock: Clock): Promise<FastifyInstance>
  /** Why this store can't be tested here (every test is then skipped). */
  skip?: string
  /**
   * Absolute expiry times (unix ms) of what is stored for one completed session, the only one stored (a Redis key
   * holding several events' members lives as long as the newest of them).
   */
  expiries (app: FastifyInstance, s: GeneratedSession): Promise<{ session: number, completed: number, start: number }>
}

const DAY_MS = 24 * 3600 * 1000

type PutResult = { accepted: number, duplicates: number, rejected: Array<{ index: number, message: string }> }

/** POST /put_events; the status must tell what the report says: 200 all stored, 207 some rejected, 400 none stored. */
async function put (app: FastifyInstance, events: unknown): Promise<PutResult> {
  const res = await app.inject({ method: 'POST', url: '/put_events', payload: events as object })
  if (![200, 207, 400].includes(res.statusCode)) throw new Error(`POST /put_events answered ${res.statusCode}: ${res.body}`)
  const { accepted, duplicates, rejected } = res.json() as PutResult
  if (rejected === undefined) throw new Error(`POST /put_events refused the batch: ${res.body}`)
  const expected = rejected.length === 0 ? 200 : accepted + duplicates > 0 ? 207 : 400
  if (res.statusCode !== expected) throw new Error(`POST /put_events answered ${res.statusCode}, not ${expected}: ${res.body}`)
  return { accepted, duplicates, rejected }
}

async function completed (app: FastifyInstance, playerId: string, query = '') {
  const res = await app.inject(`/end_players_events/${encodeURIComponent(playerId)}${query}`)
  if (res.statusCode !== 200) throw new Error(`GET /end_players_events answered ${res.statusCode}: ${res.body}`)
  return res.json() as Completed
}

async function starts (app: FastifyInstance, hours: number | string, query = '') {
  const res = await app.inject(`/start_players_events/${hours}${query}`)
  if (res.statusCode !== 200) throw new Error(`GET /start_players_events answered ${res.statusCode}: ${res.body}`)
  return res.json() as Window
}

/** The answer as clients before paging read it: without the `next_cursor` of countries listed in part. */
function withoutCursors (w: Window): Window {
  const countries: Window['countries'] = {}
  for (const [cc, { count, sessions }] of Object.entries(w.countries)) countries[cc] = { count, sessions }
  return { ...w, countries }
}

/** Every page of one country from `first` on, following next_cursor; the pages as answered. */
async function allPages (app: FastifyInstance, hours: number, first: Window, cc: string, limit: number) {
  const pages = [first]
  for (let cursor = first.countries[cc]?.next_cursor; cursor !== undefined;) {
    const page = await starts(app, hours, `?limit=${limit}&cursor=${cursor}`)
    pages.push(page)
    cursor = page.countries[cc]?.next_cursor
    if (pages.length > 100) throw new Error('more than 100 pages')
  }
  return pages
}

const view = (s: GeneratedSession) => ({
  session_id: s.sessionId,
  player_id: s.playerId,
  country: s.country,
  start: formatTimestamp(s.startUs),
  end: formatTimestamp(s.endUs),
  duration_seconds: (s.endUs - s.startUs) / 1e6
})

const one = (nowMs: number, seed: number) =>
  generateSessions({ nowMs, countries: 1, playersPerCountry: 1, sessionsPerPlayer: 1, seed })[0] as GeneratedSession

const newestEndFirst = (a: GeneratedSession, b: GeneratedSession) =>
  b.endUs - a.endUs || (a.sessionId < b.sessionId ? 1 : -1)

/** What GET /start_players_events must answer for `sessions`, computed independently of the stores. */
function expectedStarts (sessions: GeneratedSession[], nowMs: number, hours: number, limit: number) {
  const untilUs = nowMs * 1000
  const sinceUs = untilUs - Math.round(hours * 3600e6)
  const inWindow = sessions.filter(s => s.startUs > sinceUs && s.startUs <= untilUs)
  const countries: Window['countries'] = {}
  for (const cc of [...new Set(inWindow.map(s => s.country))].sort()) {
    const mine = inWindow.filter(s => s.country === cc)
      .sort((a, b) => b.startUs - a.startUs || (a.sessionId < b.sessionId ? 1 : -1))
    countries[cc] = {
      count: mine.length,
      sessions: mine.slice(0, limit)
        .map(s => ({ session_id: s.sessionId, player_id: s.playerId, ts: formatTimestamp(s.startUs) }))
    }
  }
  return { since: formatTimestamp(sinceUs), until: formatTimestamp(untilUs), total: inWindow.length, countries }
}

export function sessionsContract (t: Test, store: StoreUnderTest) {
  const test = (name: string, fn: (t: Test) => Promise<void>) => t.test(name, { skip: store.skip }, fn)

  async function setup (t: Test) {
    const clock = manualClock(Date.now())
    const app = await store.app(t, clock)
    return { clock, app }
  }

  test('1,000 shuffled events in 100 batches of 10 make exactly 500 completed sessions, 5 per player', async (t) => {
    const { clock, app } = await setup(t)
    const sessions = generateSessions({ nowMs: clock.now(), seed: 11 })
    const events = shuffle(toEvents(sessions), 12)
    const sent = batches(events, 10)
    t.equal(sent.length, 100)
    let accepted = 0
    for (const batch of sent) {
      const r = await put(app, batch)
      t.same(r.rejected, [])
      t.equal(r.duplicates, 0)
      accepted += r.accepted
    }
    t.equal(accepted, 1000)
    const players = [...new Set(sessions.map(s => s.playerId))]
    t.equal(players.length, 100)
    let total = 0
    for (const playerId of players) {
      const got = await completed(app, playerId)
      const expected = sessions.filter(s => s.playerId === playerId).sort(newestEndFirst).map(view)
      t.equal(expected.length, 5)
      t.same(got, expected, `player ${playerId}`)
      total += got.length
    }
    t.equal(total, 500)
  })

  test('the 100-hour window holds exactly the starts in it, grouped by country, newest first', async (t) => {
    const { clock, app } = await setup(t)
    const sessions = generateSessions({ nowMs: clock.now(), seed: 21 })
    for (const batch of batches(shuffle(toEvents(sessions), 22), 10)) await put(app, batch)
    const expected = expectedStarts(sessions, clock.now(), 100, 1000)
    t.ok(expected.total > 20 && expected.total < 500, `the window is a proper subset (${expected.total} starts)`)
    t.same(await starts(app, 100, '?limit=1000'), expected)
    // Counts stay exact when the lists are capped; each country listed in part says how to go on.
    const capped = await starts(app, 100, '?limit=2')
    t.same(withoutCursors(capped), expectedStarts(sessions, clock.now(), 100, 2))
    t.same(Object.keys(capped.countries).filter(cc => capped.countries[cc]!.next_cursor !== undefined),
      Object.keys(capped.countries).filter(cc => capped.countries[cc]!.count > 2))
    t.same(await starts(app, 0.5), expectedStarts(sessions, clock.now(), 0.5, 100))
    const all = withoutCursors(await starts(app, 8760, '?limit=0'))
    t.equal(all.total, 500)
    t.same(Object.values(all.countries).map(c => c.count), Array(10).fill(50))
  })

  test('events 366 days old are rejected and nothing of them is stored', async (t) => {
    const { clock, app } = await setup(t)
    const old = generateSessions({
      nowMs: clock.now() - 366 * DAY_MS, countries: 5, playersPerCountry: 2, seed: 31, maxDurationMs: 3600_000
    })
    const events = toEvents(old)
    t.equal(events.length, 100)
    for (const batch of batches(events, 10)) {
      const r = await put(app, batch)
      t.equal(r.accepted, 0)
      t.same(r.rejected, batch.map((_, index) => ({ index, message: 'ts is older than the 1-year retention' })))
    }
    for (const playerId of new Set(old.map(s => s.playerId))) t.same(await completed(app, playerId), [])
    t.equal((await starts(app, 8760)).total, 0)
  })

  test('microsecond timestamps are kept and an explicit zone is honoured', async (t) => {
    const { clock, app } = await setup(t)
    const startMs = Math.floor(clock.now() / 1000) * 1000 - 2 * 3600_000
    const start = new Date(startMs).toISOString().slice(0, 19) + '.123456'
    // The end, written in +02:00, is 90 minutes and 0.000544 s after the start.
    const endLocal = new Date(startMs + 90 * 60_000 + 2 * 3600_000).toISOString().slice(0, 19) + '.124000+02:00'
    const r = await put(app, [
      { event: 'start', player_id: 'p-micro', session_id: 's-micro', ts: start, country: 'fi' },
      { event: 'end', player_id: 'p-micro', session_id: 's-micro', ts: endLocal }
    ])
    t.same(r, { accepted: 2, duplicates: 0, rejected: [] })
    t.same(await completed(app, 'p-micro'), [{
      session_id: 's-micro',
      player_id: 'p-micro',
      country: 'FI',
      start: start + 'Z',
      end: new Date(startMs + 90 * 60_000).toISOString().slice(0, 19) + '.124000Z',
      duration_seconds: 5400.000544
    }])
    const window = await starts(app, 3)
    t.same(window.countries, {
      FI: { count: 1, sessions: [{ session_id: 's-micro', player_id: 'p-micro', ts: start + 'Z' }] }
    })
  })

  test('a re-sent batch is counted as duplicates and changes nothing', async (t) => {
    const { clock, app } = await setup(t)
    const sessions = generateSessions({
      nowMs: clock.now(), countries: 1, playersPerCountry: 1, seed: 41, startWithinMs: 3 * 3600_000
    })
    const events = toEvents(sessions)
    t.same(await put(app, events), { accepted: 10, duplicates: 0, rejected: [] })
    const before = { done: await completed(app, sessions[0]!.playerId), window: await starts(app, 4) }
    t.same(await put(app, events), { accepted: 0, duplicates: 10, rejected: [] })
    // Same (session_id, kind) with other values is still a duplicate: the first write wins.
    const altered = events.map(e => ({ ...e, ts: clientTimestamp(clock.now() * 1000 - 1000) }))
    t.same(await put(app, altered), { accepted: 0, duplicates: 10, rejected: [] })
    t.same(await completed(app, sessions[0]!.playerId), before.done)
    t.same(await starts(app, 4), before.window)
    t.equal(before.done.length, 5)
    t.equal(before.window.total, 5)
  })

  test('an end that arrives before its start pairs up when the start comes', async (t) => {
    const { clock, app } = await setup(t)
    const s = one(clock.now(), 51)
    const [startEvent, endEvent] = toEvents([s]) as [ClientEvent, ClientEvent]
    t.same(await put(app, [endEvent]), { accepted: 1, duplicates: 0, rejected: [] })
    t.same(await completed(app, s.playerId), [])
    t.same(await put(app, [startEvent]), { accepted: 1, duplicates: 0, rejected: [] })
    t.same(await completed(app, s.playerId), [view(s)])
    // Both in one batch, end first, pair up too.
    const s2 = one(clock.now(), 52)
    t.same(await put(app, toEvents([s2]).reverse()), { accepted: 2, duplicates: 0, rejected: [] })
    t.same(await completed(app, s2.playerId), [view(s2)])
  })

  test('valid events of a batch are stored while the invalid ones are rejected with their index', async (t) => {
    const { clock, app } = await setup(t)
    const ts = clientTimestamp(clock.now() * 1000 - 60e6)
    const later = clientTimestamp(clock.now() * 1000 - 30e6)
    const future = clientTimestamp((clock.now() + 6 * 60_000) * 1000)
    const r = await put(app, [
      { event: 'start', player_id: 'p1', session_id: 'a', ts, country: 'SE' },
      { event: 'start', player_id: 'p1', session_id: 'b', ts, country: 'FIN' },
      { event: 'start', player_id: 'p1', session_id: 'c', ts, country: 'SE', extra: 1 },
      { event: 'end', player_id: 'p1', session_id: 'a', ts: later },
      { event: 'start', player_id: 'p1', session_id: 'd', ts: future, country: 'SE' },
      { event: 'pause', player_id: 'p1', session_id: 'e', ts },
      { event: 'end', player_id: 'p2', session_id: 'a', ts: later },
      { event: 'end', player_id: 'p1', session_id: 'f', ts: '2016-13-02T12:48:05' },
      'not an event',
      { event: 'start', player_id: '', session_id: 'g', ts, country: 'SE' }
    ])
    t.same(r, {
      accepted: 2,
      duplicates: 1,
      rejected: [
        { index: 1, message: 'country must be a two-letter ISO 3166-1 alpha-2 code such as FI (required on start events)' },
        { index: 2, message: 'unknown field "extra"' },
        { index: 4, message: 'ts is more than 5 minutes in the future' },
        { index: 5, message: 'event must be "start" or "end"' },
        { index: 7, message: 'ts must be an ISO-8601 date-time such as 2016-12-02T12:48:05.520022' },
        { index: 8, message: 'event must be a JSON object' },
        { index: 9, message: 'player_id must be a string of 1-64 characters without control characters' }
      ]
    })
    t.equal((await completed(app, 'p1')).length, 1)
    t.equal((await starts(app, 1)).total, 1)
  })

  test('an event contradicting its stored session is rejected: other player, end before start', async (t) => {
    const { clock, app } = await setup(t)
    const us = clock.now() * 1000
    await put(app, [
      { event: 'start', player_id: 'p1', session_id: 's1', ts: clientTimestamp(us - 60e6), country: 'NO' },
      { event: 'end', player_id: 'p1', session_id: 's2', ts: clientTimestamp(us - 60e6) }
    ])
    const r = await put(app, [
      { event: 'end', player_id: 'p2', session_id: 's1', ts: clientTimestamp(us - 30e6) },
      { event: 'end', player_id: 'p1', session_id: 's1', ts: clientTimestamp(us - 90e6) },
      { event: 'start', player_id: 'p1', session_id: 's2', ts: clientTimestamp(us - 30e6), country: 'NO' }
    ])
    t.same(r, {
      accepted: 0,
      duplicates: 0,
      rejected: [
        { index: 0, message: 'session_id already belongs to another player' },
        { index: 1, message: 'end is before the session start' },
        { index: 2, message: 'start is after the session end' }
      ]
    })
    t.same(await completed(app, 'p1'), [])
    t.same(await completed(app, 'p2'), [])
  })

  test('?limit= picks how many completed sessions come back; unknown players get []', async (t) => {
    const { clock, app } = await setup(t)
    const sessions = generateSessions({
      nowMs: clock.now(), countries: 1, playersPerCountry: 1, sessionsPerPlayer: 25, seed: 61
    })
    for (const batch of batches(toEvents(sessions), 10)) await put(app, batch)
    const all = sessions.slice().sort(newestEndFirst).map(view)
    const playerId = sessions[0]!.playerId
    t.same(await completed(app, playerId), all.slice(0, 20))
    t.same(await completed(app, playerId, '?limit=3'), all.slice(0, 3))
    t.same(await completed(app, playerId, '?limit=100'), all)
    t.same(await completed(app, 'nobody'), [])
  })

  test('stored rows expire 365 days after their event time', async (t) => {
    const { clock, app } = await setup(t)
    // Cassandra counts TTLs in whole seconds from its own now: start at the top of a second, with the clock on it,
    // so that its second and ours are the same one.
    await sleep(1000 - (Date.now() % 1000))
    clock.set(Date.now())
    const s = one(clock.now(), 71)
    await put(app, toEvents([s]))
    const got = await store.expiries(app, s)
    const startExpiry = expiryMs(s.startUs)
    const within = (actual: number, expected: number, what: string) => t.ok(Math.abs(actual - expected) <= 1000,
      `${what}: expires at ${new Date(actual).toISOString()}, expected ${new Date(expected).toISOString()}`)
    within(got.session, startExpiry, 'session')
    within(got.completed, startExpiry, 'completed session')
    within(got.start, startExpiry, 'start')
  })

  test('nothing older than 365 days is returned while newer data keeps its storage alive', async (t) => {
    const { clock, app } = await setup(t)
    // Two sessions of one player and country, a minute apart: the newer keeps shared keys and buckets alive.
    const newer = one(clock.now(), 85)
    const older = { ...newer, sessionId: `${newer.sessionId}-o`, startUs: newer.startUs - 60e6, endUs: newer.endUs - 60e6 }
    t.same(await put(app, toEvents([older, newer])), { accepted: 4, duplicates: 0, rejected: [] })
    clock.set(expiryMs(older.startUs))
    t.same(await completed(app, older.playerId), [view(newer)])
    const window = await starts(app, 8760)
    const listed = { session_id: newer.sessionId, player_id: newer.playerId, ts: formatTimestamp(newer.startUs) }
    t.same(window.countries, { [older.country]: { count: 1, sessions: [listed] } })
    t.equal(window.total, 1)
    clock.set(expiryMs(newer.startUs))
    t.same(await completed(app, older.playerId), [])
    const after = await starts(app, 8760)
    t.equal(after.total, 0)
    t.same(after.countries, {})
  })

  test('the same event sent 20 times at once is stored once: 1 accepted, 19 duplicates', async (t) => {
    const { clock, app } = await setup(t)
    const s = one(clock.now(), 91)
    const [startEvent, endEvent] = toEvents([s]) as [ClientEvent, ClientEvent]
    // Each copy carries another ts: were two stored, the window would count two starts.
    const starts20 = Array.from({ length: 20 }, (_, i) => ({ ...startEvent, ts: clientTimestamp(s.startUs - i * 1e6) }))
    const outcomes = await Promise.all(starts20.map(e => put(app, [e])))
    const sum = (rs: typeof outcomes, k: 'accepted' | 'duplicates') => rs.reduce((n, r) => n + r[k], 0)
    t.equal(sum(outcomes, 'accepted'), 1, 'starts accepted')
    t.equal(sum(outcomes, 'duplicates'), 19, 'starts counted as duplicates')
    const ends = await Promise.all(Array.from({ length: 20 }, () => put(app, [endEvent])))
    t.equal(sum(ends, 'accepted'), 1, 'ends accepted')
    t.equal(sum(ends, 'duplicates'), 19, 'ends counted as duplicates')
    const window = await starts(app, 8760)
    t.equal(window.total, 1)
    const listed = window.countries[s.country]?.sessions ?? []
    t.equal(listed.length, 1)
    const done = await completed(app, s.playerId)
    t.equal(done.length, 1)
    t.equal(done[0]?.start, listed[0]?.ts, 'the completed session pairs the stored start')
    t.equal(done[0]?.end, formatTimestamp(s.endUs))
  })

  test('a session drops out of both queries once its start is 365 days old', async (t) => {
    const { clock, app } = await setup(t)
    const s = one(clock.now(), 81)
    await put(app, toEvents([s]))
    t.equal((await completed(app, s.playerId)).length, 1)
    clock.set(expiryMs(s.startUs) - 1)
    t.equal((await completed(app, s.playerId)).length, 1, 'still there 1 ms before')
    t.equal((await starts(app, 8760)).total, 1)
    clock.advance(1)
    t.same(await completed(app, s.playerId), [])
    t.equal((await starts(app, 8760)).total, 0)
  })

  let calls = 0
  /**
   * Starts in FI and SE, 3 per timestamp (ids that prefix one another among them), 9 timestamps over 40 hours. Ids
   * differ from call to call: the Cassandra store's claims (in Redis, for minutes) outlive a test's tables.
   */
  async function manyStarts (app: FastifyInstance, nowMs: number, perCountry = 27) {
    const call = ++calls
    const out: Array<{ cc: string, sessionId: string, playerId: string, tsUs: number }> = []
    for (const cc of ['FI', 'SE']) {
      for (let i = 0; i < perCountry; i++) {
        const tsUs = (nowMs - (Math.floor(i / 3) + 1) * 4.5 * 3600_000) * 1000 + 123
        out.push({ cc, sessionId: `${cc}${call}-${Math.floor(i / 3)}${'ab'.slice(0, i % 3)}`, playerId: `p-${cc}-${i}`, tsUs })
      }
    }
    const events = out.map(s => ({
      event: 'start', player_id: s.playerId, session_id: s.sessionId, ts: clientTimestamp(s.tsUs), country: s.cc
    }))
    for (const batch of batches(shuffle(events as ClientEvent[], 7), 10)) await put(app, batch)
    return (cc: string) => out.filter(s => s.cc === cc)
      .sort((a, b) => b.tsUs - a.tsUs || (a.sessionId < b.sessionId ? 1 : -1))
      .map(s => ({ session_id: s.sessionId, player_id: s.playerId, ts: formatTimestamp(s.tsUs) }))
  }

  test('?country= pages one country to the end: every start once, newest first, ties kept in order', async (t) => {
    const { clock, app } = await setup(t)
    const expected = (await manyStarts(app, clock.now()))('FI')
    t.equal(expected.length, 27)
    const first = await starts(app, 48, '?country=fi&limit=4')
    t.same(Object.keys(first.countries), ['FI'], 'that country alone')
    t.equal(first.total, 27)
    const pages = await allPages(app, 48, first, 'FI', 4)
    t.equal(pages.length, 7, '27 starts in pages of 4')
    t.same(pages.flatMap(p => p.countries.FI!.sessions), expected)
    t.ok(pages.every(p => p.countries.FI!.count === 27 && p.total === 27 && p.until === first.until &&
      p.since === first.since), 'every page counts the whole window, the one the first page used')
    t.ok(pages.slice(0, -1).every(p => p.countries.FI!.sessions.length === 4 && p.countries.FI!.next_cursor))
    t.equal(pages.at(-1)!.countries.FI!.next_cursor, undefined, 'no cursor on the last page')
    // Pages of 1 and a page holding everything.
    t.same((await allPages(app, 48, await starts(app, 48, '?country=FI&limit=1'), 'FI', 1))
      .flatMap(p => p.countries.FI!.sessions), expected)
    const whole = await starts(app, 48, '?country=FI&limit=27')
    t.same(whole.countries.FI, { count: 27, sessions: expected })
    // A shorter window counts and pages only its part; a country without starts is absent.
    const short = await allPages(app, 10, await starts(app, 10, '?country=FI&limit=2'), 'FI', 2)
    t.same(short.flatMap(p => p.countries.FI!.sessions), expected.slice(0, 6))
    t.same((await starts(app, 48, '?country=NO')).countries, {})
    // A cursor at a position no stored start has goes on from below it.
    const at = expected[12]!
    const made = encodeCursor({
      country: 'FI',
      untilUs: clock.now() * 1000,
      last: { tsUs: parseTimestamp(at.ts)! + 1, sessionId: 'none', playerId: 'nobody' }
    })
    t.same((await starts(app, 48, `?limit=1000&cursor=${made}`)).countries.FI!.sessions, expected.slice(12))
  })

  test('starts written while a client pages do not shift its later pages', async (t) => {
    const { clock, app } = await setup(t)
    const expected = (await manyStarts(app, clock.now()))('FI')
    const first = await starts(app, 48, '?country=FI&limit=5')
    clock.advance(60_000)
    // Newer than the first page's window end, and one tied with its last listed start (a higher id sorts before it).
    const last = first.countries.FI!.sessions.at(-1)!
    const later = [0, 1, 2, 3, 4, 5, 6, 7].map(i => ({
      event: 'start', player_id: 'late', session_id: `late-${i}`, ts: clientTimestamp(clock.now() * 1000 - i * 1e6), country: 'FI'
    }))
    await put(app, later)
    await put(app, [{ event: 'start', player_id: 'late', session_id: `${last.session_id}z`, ts: last.ts.slice(0, -1), country: 'FI' }])
    const pages = await allPages(app, 48, first, 'FI', 5)
    const got = pages.flatMap(p => p.countries.FI!.sessions)
    // The tied start falls inside the window already paged past: it sorts above the cursor, so it is not listed.
    t.same(got, expected)
    t.same(pages.slice(1).map(p => p.until), pages.slice(1).map(() => first.until))
    t.equal((await starts(app, 48, '?country=FI&limit=1000')).countries.FI!.count, 27 + 9, 'a new first page sees them')
  })

  test('a malformed or tampered cursor is a 400 naming cursor; a malformed country one naming country', async (t) => {
    const { clock, app } = await setup(t)
    await manyStarts(app, clock.now(), 6)
    const first = await starts(app, 48, '?country=FI&limit=2')
    const cursor = first.countries.FI!.next_cursor!
    const refused = async (query: string, name: string) => {
      const res = await app.inject(`/start_players_events/48${query}`)
      t.equal(res.statusCode, 400, query)
      t.match(res.json(), { code: 'PLAYFIELD_INVALID_ARGUMENT', message: new RegExp(`\\b${name}\\b`) }, query)
    }
    const flipped = cursor.slice(0, 10) + (cursor[10] === 'A' ? 'B' : 'A') + cursor.slice(11)
    // Well-formed cursors (a valid checksum) holding what no answer hands out.
    const json = (v: unknown) => {
      const payload = Buffer.from(JSON.stringify(v))
      const sum = createHash('sha256').update(payload).digest().subarray(0, 8)
      return Buffer.concat([payload, sum]).toString('base64url')
    }
    const nowUs = clock.now() * 1000
    for (const bad of [flipped, cursor.slice(0, -3), `${cursor}x`, 'not-a-cursor', `${cursor}=`, 'a'.repeat(700),
      json([1, 'FI', nowUs + 1e9, null, null, null]), json([1, 'FI', nowUs - 366 * DAY_MS * 1000, null, null, null]),
      json([1, 'FI', nowUs, nowUs + 1, 's', 'p']), json([1, 'FI', nowUs, 5, 's\n', 'p']), json([2, 'FI', nowUs, null, null, null]),
      json([1, 'fi', nowUs, null, null, null]), json({ country: 'FI' })]) {
      await refused(`?cursor=${encodeURIComponent(bad)}`, 'cursor')
    }
    await refused(`?country=SE&cursor=${cursor}`, 'cursor')
    for (const cc of ['FIN', 'F', '1A', 'F%C3%96', '']) await refused(`?country=${cc}`, 'country')
    await refused('?country=FI&limit=0', 'limit')
    await refused('?country=FI&limit=1001', 'limit')
    // The right cursor still works, with or without its country.
    t.same((await starts(app, 48, `?limit=2&country=FI&cursor=${cursor}`)).countries.FI!.sessions,
      (await starts(app, 48, `?limit=2&cursor=${cursor}`)).countries.FI!.sessions)
  })

  test('a country the window answer lists in part carries next_cursor, whose pages give the rest', async (t) => {
    const { clock, app } = await setup(t)
    const expected = await manyStarts(app, clock.now())
    await put(app, [{ event: 'start', player_id: 'p-no', session_id: 'no-1', ts: clientTimestamp(clock.now() * 1000 - 1e6), country: 'NO' }])
    const window = await starts(app, 48, '?limit=10')
    t.same(Object.keys(window.countries), ['FI', 'NO', 'SE'])
    t.equal(window.countries.NO!.next_cursor, undefined, 'a country listed whole has none')
    for (const cc of ['FI', 'SE']) {
      t.same(window.countries[cc]!.sessions, expected(cc).slice(0, 10))
      const pages = await allPages(app, 48, window, cc, 7)
      t.same(pages.flatMap(p => p.countries[cc]!.sessions), expected(cc), `${cc} paged to the end`)
      t.same(pages.slice(1).map(p => Object.keys(p.countries)), pages.slice(1).map(() => [cc]))
    }
    // limit=0 lists nothing: the cursors start at each country's newest.
    const counted = await starts(app, 48, '?limit=0')
    const pages = await allPages(app, 48, counted, 'FI', 100)
    t.equal(pages.length, 2)
    t.same(pages[1]!.countries.FI!.sessions, expected('FI'))
  })
}
