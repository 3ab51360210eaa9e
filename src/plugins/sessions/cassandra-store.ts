import cassandra from 'cassandra-driver'
import type { Cassandra, Migration } from '../../plugins/infra/cassandra.js'
import type { RedisClient } from '../../plugins/infra/lua.js'
import { UnavailableError } from '../../errors.js'
import {
  REJECT, HOUR_US, RETENTION_MS, expiryMs, hourOf,
  type CompletedSession, type Continue, type CountryPage, type EventOutcome, type SessionEvent, type SessionStore,
  type StartPosition, type StartedSession, type StartsJson, planWindow, renderCountries, startedJson
} from './store.js'

// Cassandra layout. Times are bigint microseconds (the timestamp type keeps only milliseconds). Every row carries
// its own TTL, computed from its event time, so nothing outlives 365 days after its ts.
//
//   sessions_events              (session_id, kind): the events as received; plain upserts, written only with the
//                                values of the event that won its claim (below), so every writer writes the same
//                                row. Pairing reads it.
//   sessions_completed           partition player_id, clustered by end_us DESC: a player's newest completed
//                                sessions are the head of one partition. TTL from the start (a session's earliest
//                                event: once its start has expired the session is no longer complete).
//   sessions_starts_by_hour      partition (hour, country), clustered by ts_us DESC. Per country rather than the
//                                hour alone: the current hour's writes spread over as many partitions (and replica
//                                sets) as there are countries instead of one hot partition, an exact count is a
//                                COUNT(*) over one partition, and a country's newest starts are one slice with LIMIT.
//   sessions_start_countries     partition hour: which countries have starts in it (what to count).
//
// The CQL runs on Cassandra 2.1 as well as 4.x/5.x (no GROUP BY, PER PARTITION LIMIT, JSON, date or smallint).
//
// The claim (which of several requests with one (session_id, kind) is the accepted one) is a Redis SET NX, not a
// Cassandra lightweight transaction (a Paxos round per event capped this store at ~1-2k events/s):
//   sess:claim:{<session_id>}:<kind>   string, the winning event (JSON), expires after CLAIM_TTL_S. One key per
//                                      command; the tag keeps a session's two claims on one Cluster node.
// A request first reads the session from Cassandra: an event already stored is a duplicate (for as long as the
// row lives, as before). Only a new event claims; the claim has to outlive the race between concurrent requests
// (the read-then-write of one event, milliseconds), not the event. Of concurrent requests exactly one wins and
// answers accepted, the others answer duplicate and write the winner's values (not theirs), so a winner that died
// between its claim and its write is completed by the losers, and a client's re-send after a failed request
// repairs what is missing. Trade-off, stated: a claim lost with Redis (an embedded Redis without AOF restarting,
// a Cluster failover before replication) during that race lets two different copies both answer accepted
// and write; the row keeps the last write. Nothing else depends on Redis being durable.

export function migrations (db: Pick<Cassandra, 'compaction'>): Migration[] {
  const timeSeries = `compaction = ${db.compaction('time-series')}`
  return [{
    version: 1,
    statements: [
      `CREATE TABLE IF NOT EXISTS sessions_events (
        session_id text, kind text, player_id text, country text, ts_us bigint,
        PRIMARY KEY (session_id, kind)) WITH ${timeSeries}`,
      `CREATE TABLE IF NOT EXISTS sessions_completed (
        player_id text, end_us bigint, session_id text, country text, start_us bigint,
        PRIMARY KEY (player_id, end_us, session_id)
      ) WITH CLUSTERING ORDER BY (end_us DESC, session_id DESC) AND ${timeSeries}`,
      `CREATE TABLE IF NOT EXISTS sessions_starts_by_hour (
        hour bigint, country text, ts_us bigint, session_id text, player_id text,
        PRIMARY KEY ((hour, country), ts_us, session_id)
      ) WITH CLUSTERING ORDER BY (ts_us DESC, session_id DESC) AND ${timeSeries}`,
      `CREATE TABLE IF NOT EXISTS sessions_start_countries (
        hour bigint, country text, PRIMARY KEY (hour, country)) WITH ${timeSeries}`
    ]
  }]
}

const CQL = {
  readSession: 'SELECT kind, player_id, country, ts_us FROM sessions_events WHERE session_id = ?',
  readSessions: 'SELECT session_id, kind, player_id, country, ts_us FROM sessions_events WHERE session_id IN ?',
  insertEvent: 'INSERT INTO sessions_events (session_id, kind, player_id, country, ts_us) VALUES (?, ?, ?, ?, ?) ' +
    'USING TTL ?',
  insertCompleted: 'INSERT INTO sessions_completed (player_id, end_us, session_id, country, start_us) VALUES (?, ?, ?, ?, ?) USING TTL ?',
  insertStart: 'INSERT INTO sessions_starts_by_hour (hour, country, ts_us, session_id, player_id) VALUES (?, ?, ?, ?, ?) USING TTL ?',
  insertCountry: 'INSERT INTO sessions_start_countries (hour, country) VALUES (?, ?) USING TTL ?',
  completed: 'SELECT session_id, country, start_us, end_us FROM sessions_completed WHERE player_id = ?',
  countries: 'SELECT hour, country FROM sessions_start_countries WHERE hour IN ?',
  count: 'SELECT COUNT(*) FROM sessions_starts_by_hour WHERE hour = ? AND country = ? AND ts_us > ? AND ts_us <= ?',
  starts: 'SELECT ts_us, session_id, player_id FROM sessions_starts_by_hour ' +
    'WHERE hour = ? AND country = ? AND ts_us > ? AND ts_us <= ? LIMIT ?',
  // A page's first partition: the rows after the cursor in the clustering order, (ts_us, session_id) descending.
  // Cassandra 2.1 refuses a tuple and a single-column inequality on one column, hence `(ts_us) > (?)`.
  countAfter: 'SELECT COUNT(*) FROM sessions_starts_by_hour ' +
    'WHERE hour = ? AND country = ? AND (ts_us) > (?) AND (ts_us, session_id) < (?, ?)',
  startsAfter: 'SELECT ts_us, session_id, player_id FROM sessions_starts_by_hour ' +
    'WHERE hour = ? AND country = ? AND (ts_us) > (?) AND (ts_us, session_id) < (?, ?) LIMIT ?'
}

/** In-flight statements per request: enough to hide latency, few enough not to swamp the coordinator. */
const CONCURRENCY = 16
const HOURS_PER_IN = 100
/** Sessions per read (a request holds at most 10 events; bulk loads read in such slices). */
const SESSIONS_PER_IN = 50
/** Rows per unlogged batch: a request's rows (10 events ≈ 40 rows, a few KB) in one or two round trips. */
const ROWS_PER_BATCH = 50
/** How long a claim outlives its request: far beyond the read-claim-write race it settles. */
const CLAIM_TTL_S = 300

// Server-side "can't serve now" answers (unavailable, overloaded, bootstrapping, read/write timeouts) are outages
// for the caller, not bugs: 503. NoHostAvailable / OperationTimedOut are already mapped by src/errors.ts.
const OUTAGE_CODES = new Set([0x1000, 0x1001, 0x1002, 0x1100, 0x1200])

async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/** Seconds to live so that the row disappears at the first whole second not before `expiresAtMs`. */
function ttlSeconds (expiresAtMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil(expiresAtMs / 1000) - Math.floor(nowMs / 1000))
}

interface StoredEvent { kind: string, playerId: string, country: string | null, tsUs: number }

const num = (v: unknown) => (typeof v === 'number' ? v : Number((v as { toString (): string }).toString()))

export function createCassandraStore ({ client, redis }: {
  client: cassandra.Client
  redis: RedisClient
}): SessionStore {
  // Every statement reads or upserts fixed values, so the driver may retry it on another node when its coordinator
  // dies (consistency: CASSANDRA_CONSISTENCY, the client's default).
  const options = { prepare: true, isIdempotent: true }
  const { localQuorum } = cassandra.types.consistencies
  // The event row and the pairing read overlap (quorum write, quorum read): of two halves written concurrently,
  // whichever reads second sees the other.
  const eventWrite = { prepare: true, consistency: localQuorum, isIdempotent: true }
  const pairingRead = { prepare: true, consistency: localQuorum, isIdempotent: true }

  const claimKey = (sessionId: string, kind: string) => `sess:claim:{${sessionId}}:${kind}`
  /** SET NX: undefined when this request won the claim, else the winner's event as stored in the claim. */
  async function claim (sessionId: string, me: StoredEvent): Promise<StoredEvent | undefined> {
    const key = claimKey(sessionId, me.kind)
    const won = await redis.set(key, JSON.stringify(me), 'EX', CLAIM_TTL_S, 'NX')
    if (won === 'OK') return undefined
    const held = await redis.get(key)
    // Expired in between (a claim older than CLAIM_TTL_S): the winner's row is in Cassandra by now.
    if (held === null) return (await readSession(sessionId, pairingRead)).find(r => r.kind === me.kind) ?? me
    return JSON.parse(held) as StoredEvent
  }

  async function run<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      // A coordinator's connection lost with a request in flight is an outage too (a node dying, say).
      const e = err as { code?: number, isSocketError?: boolean }
      if (OUTAGE_CODES.has(e.code ?? -1) || e.isSocketError) {
        throw new UnavailableError('Cassandra is unavailable, try again shortly')
      }
      throw err
    }
  }

  async function readSession (sessionId: string, opts: cassandra.QueryOptions = options): Promise<StoredEvent[]> {
    const rs = await client.execute(CQL.readSession, [sessionId], opts)
    return rs.rows.map(r => ({ kind: r.kind, playerId: r.player_id, country: r.country, tsUs: num(r.ts_us) }))
  }

  function completedRow (start: StoredEvent, end: StoredEvent, sessionId: string, nowMs: number) {
    return {
      query: CQL.insertCompleted,
      params: [start.playerId, end.tsUs, sessionId, start.country, start.tsUs, ttlSeconds(expiryMs(start.tsUs), nowMs)]
    }
  }

  /** The start's rows of the window query (idempotent upserts: same values, same expiry on every write). */
  function startRows (sessionId: string, start: StoredEvent, nowMs: number) {
    const hour = hourOf(start.tsUs)
    const bucketExpiry = (hour + 1) * (HOUR_US / 1000) + RETENTION_MS
    const ttl = ttlSeconds(expiryMs(start.tsUs), nowMs)
    return [
      { query: CQL.insertStart, params: [hour, start.country, start.tsUs, sessionId, start.playerId, ttl] },
      { query: CQL.insertCountry, params: [hour, start.country, ttlSeconds(bucketExpiry, nowMs)] }
    ]
  }

  const consistent = (start: StoredEvent, end: StoredEvent) => start.playerId === end.playerId && start.tsUs <= end.tsUs

  /**
   * Everything derived from an event: its start rows, and the completed row once both halves are known. Written with
   * the event and again for every re-sent event, so a request that failed half-way is repaired by the client's retry.
   */
  function derivedRows (sessionId: string, event: StoredEvent, other: StoredEvent | undefined, nowMs: number) {
    const queries: Array<{ query: string, params: unknown[] }> = event.kind === 'start' ? startRows(sessionId, event, nowMs) : []
    if (other) {
      const [start, end] = event.kind === 'start' ? [event, other] : [other, event]
      if (consistent(start, end)) queries.push(completedRow(start, end, sessionId, nowMs))
    }
    return queries
  }

  /**
   * Idempotent upserts in unlogged batches of at most ROWS_PER_BATCH (no batchlog: every row is an upsert of fixed
   * values, and what a failed batch left out is rewritten by the client's re-send, which takes the duplicate path).
   */
  async function writeAll (queries: Array<{ query: string, params: unknown[] }>, opts: cassandra.QueryOptions) {
    const chunks: Array<typeof queries> = []
    for (let i = 0; i < queries.length; i += ROWS_PER_BATCH) chunks.push(queries.slice(i, i + ROWS_PER_BATCH))
    await mapLimit(chunks, CONCURRENCY, async (chunk) => {
      if (chunk.length === 1) await client.execute(chunk[0]!.query, chunk[0]!.params, opts)
      else await client.batch(chunk, { ...opts, logged: false })
    })
  }

  /** The stored events of many sessions: one `IN` read per SESSIONS_PER_IN sessions, run side by side. */
  async function readSessions (sessionIds: string[], opts: cassandra.QueryOptions) {
    const out = new Map<string, StoredEvent[]>(sessionIds.map(id => [id, []]))
    const chunks: string[][] = []
    for (let i = 0; i < sessionIds.length; i += SESSIONS_PER_IN) chunks.push(sessionIds.slice(i, i + SESSIONS_PER_IN))
    await mapLimit(chunks, CONCURRENCY, async (chunk) => {
      const rs = await client.execute(CQL.readSessions, [chunk], opts)
      for (const r of rs.rows) {
        out.get(r.session_id)?.push({ kind: r.kind, playerId: r.player_id, country: r.country, tsUs: num(r.ts_us) })
      }
    })
    return out
  }

  /**
   * A request's events in four rounds, however many there are: (1) one read of their sessions; (2) per event, in
   * request order per session, the checks against what is stored and, for a new event, its claim in Redis (claims
   * of all sessions side by side); (3) one unlogged batch of every row to write, at LOCAL_QUORUM; (4) one pairing
   * read of the sessions whose other half was not known, then one batch of the completed rows it makes possible.
   */
  async function putEvents (events: SessionEvent[], nowMs: number): Promise<EventOutcome[]> {
    const bySession = new Map<string, number[]>()
    events.forEach((e, i) => {
      const list = bySession.get(e.sessionId)
      if (list) list.push(i)
      else bySession.set(e.sessionId, [i])
    })
    const out: EventOutcome[] = new Array(events.length)
    const rows: Array<{ query: string, params: unknown[] }> = []
    const ownClaims: string[] = []
    /** Sessions with a row written by this request whose other half is unknown: pair after the writes. */
    const unpaired = new Map<string, StoredEvent>()

    await run(async () => {
      const sessions = await readSessions([...bySession.keys()], options)
      await mapLimit([...bySession], CONCURRENCY, async ([sessionId, indexes]) => {
        // What this session holds as this request goes: the stored rows, then the rows this request writes.
        const held = sessions.get(sessionId) ?? []
        for (const i of indexes) {
          const e = events[i] as SessionEvent
          const other = held.find(r => r.kind !== e.kind)
          const mine = held.find(r => r.kind === e.kind)
          if (mine) {
            // Re-sent: nothing new; the derived rows are rewritten from what is stored (same values, same expiry).
            rows.push(...derivedRows(sessionId, mine, other, nowMs))
            out[i] = { status: 'duplicate' }
            continue
          }
          if (other && other.playerId !== e.playerId) { out[i] = { status: 'rejected', message: REJECT.otherPlayer }; continue }
          if (other && e.kind === 'start' && other.tsUs < e.tsUs) { out[i] = { status: 'rejected', message: REJECT.startAfterEnd }; continue }
          if (other && e.kind === 'end' && e.tsUs < other.tsUs) { out[i] = { status: 'rejected', message: REJECT.endBeforeStart }; continue }

          const me: StoredEvent = { kind: e.kind, playerId: e.playerId, country: e.country ?? null, tsUs: e.tsUs }
          // The claim: of concurrent requests with this (session_id, kind) exactly one wins. Every request then
          // writes the winner's values (idempotent upserts): the row and everything derived from it are the winner's.
          const winner = await claim(sessionId, me)
          if (!winner) ownClaims.push(claimKey(sessionId, e.kind))
          const row = winner ?? me
          held.push(row)
          const ttl = ttlSeconds(expiryMs(row.tsUs), nowMs)
          rows.push({ query: CQL.insertEvent, params: [sessionId, row.kind, row.playerId, row.country, row.tsUs, ttl] })
          rows.push(...derivedRows(sessionId, row, other, nowMs))
          if (other) unpaired.delete(sessionId)
          else unpaired.set(sessionId, row)
          out[i] = { status: winner ? 'duplicate' : 'accepted' }
        }
      })
      try {
        await writeAll(rows, eventWrite)
      } catch (err) {
        // Nothing may be stored: give back the claims this request won (ours until they expire), so the re-send is
        // accepted; what did land is rewritten by that re-send with the same values.
        await Promise.all(ownClaims.map(key => redis.del(key).catch(() => {})))
        throw err
      }
      if (unpaired.size === 0) return
      // The other half may have been written meanwhile by a concurrent request that did not see this one: both read
      // after their own write, so whichever wrote second sees the first and pairs the session (if both do, the
      // completed row is written twice with the same values).
      const settled = await readSessions([...unpaired.keys()], pairingRead)
      const completedRows = [...unpaired].flatMap(([sessionId, row]) => {
        const late = settled.get(sessionId)?.find(r => r.kind !== row.kind)
        if (!late) return []
        const [start, end] = row.kind === 'start' ? [row, late] : [late, row]
        return consistent(start, end) ? [completedRow(start, end, sessionId, nowMs)] : []
      })
      await writeAll(completedRows, options)
    })
    return out
  }

  async function completed (playerId: string, limit: number, nowMs: number): Promise<CompletedSession[]> {
    return await run(async () => {
      const out: CompletedSession[] = []
      let pageState: string | undefined
      do {
        const rs = await client.execute(CQL.completed, [playerId], { ...options, fetchSize: limit + 8, pageState })
        for (const r of rs.rows) {
          const startUs = num(r.start_us)
          // Cassandra expires the row by its TTL; the app clock decides too, so tests can move time.
          if (expiryMs(startUs) <= nowMs) continue
          out.push({ sessionId: r.session_id, playerId, country: r.country, startUs, endUs: num(r.end_us) })
          if (out.length === limit) return out
        }
        pageState = rs.pageState ?? undefined
      } while (pageState)
      return out
    })
  }

  /** The (hour, country) cells of a window that hold starts, newest hour first. */
  async function cellsOf (sinceUs: number, untilUs: number) {
    const hours: number[] = []
    for (let h = hourOf(untilUs); h >= hourOf(sinceUs); h--) hours.push(h)
    const chunks: number[][] = []
    for (let i = 0; i < hours.length; i += HOURS_PER_IN) chunks.push(hours.slice(i, i + HOURS_PER_IN))
    return (await mapLimit(chunks, CONCURRENCY, async (chunk) => {
      const rs = await client.execute(CQL.countries, [chunk], options)
      return rs.rows.map(r => ({ hour: num(r.hour), country: r.country as string }))
    })).flat().sort((a, b) => b.hour - a.hour)
  }

  const startedRow = (r: cassandra.types.Row): StartedSession =>
    ({ sessionId: r.session_id, playerId: r.player_id, tsUs: num(r.ts_us) })

  async function startsBetween (sinceUs: number, untilUs: number, limit: number, maxListed = Infinity,
    next?: Continue): Promise<StartsJson> {
    return await run(async () => {
      const found = await cellsOf(sinceUs, untilUs)
      const counts = await mapLimit(found, CONCURRENCY, async ({ hour, country }) =>
        num((await client.execute(CQL.count, [hour, country, sinceUs, untilUs], options)).first()?.count ?? 0))

      const { result, wanted } = planWindow(found, counts, limit, maxListed)
      const lists = await mapLimit(wanted, CONCURRENCY, async ({ hour, country, take }) =>
        (await client.execute(CQL.starts, [hour, country, sinceUs, untilUs, take], options)).rows.map(startedRow))
      wanted.forEach(({ country }, i) => { result.countries[country]?.sessions.push(...(lists[i] ?? [])) })
      return renderCountries(result, next)
    })
  }

  async function startsPage (country: string, sinceUs: number, untilUs: number, limit: number,
    after?: StartPosition): Promise<CountryPage> {
    return await run(async () => {
      const hours = (await cellsOf(sinceUs, untilUs)).filter(c => c.country === country).map(c => c.hour)
      const cursorHour = after === undefined ? undefined : hourOf(after.tsUs)
      // Per hour: its exact count, and how many of its starts follow the cursor (none in newer hours).
      const counts = await mapLimit(hours, CONCURRENCY, async (hour) => {
        const all = await client.execute(CQL.count, [hour, country, sinceUs, untilUs], options)
        const count = num(all.first()?.count ?? 0)
        if (cursorHour === undefined || hour < cursorHour) return { count, available: count }
        if (hour > cursorHour) return { count, available: 0 }
        const params = [hour, country, sinceUs, after!.tsUs, after!.sessionId]
        const rs = await client.execute(CQL.countAfter, params, options)
        return { count, available: Math.min(count, num(rs.first()?.count ?? 0)) }
      })
      const reads: Array<{ hour: number, take: number }> = []
      let left = limit + 1
      hours.forEach((hour, i) => {
        const take = Math.min(counts[i]!.available, left)
        if (take === 0) return
        left -= take
        reads.push({ hour, take })
      })
      const lists = await mapLimit(reads, CONCURRENCY, async ({ hour, take }) => (hour === cursorHour
        ? await client.execute(CQL.startsAfter, [hour, country, sinceUs, after!.tsUs, after!.sessionId, take], options)
        : await client.execute(CQL.starts, [hour, country, sinceUs, untilUs, take], options)).rows.map(startedRow))
      const page = lists.flat()
      const more = page.length > limit
      if (more) page.length = limit
      const last = page[page.length - 1]
      return {
        count: counts.reduce((n, c) => n + c.count, 0),
        sessionsJson: page.map(s => startedJson(s.sessionId, s.playerId, s.tsUs)).join(','),
        more,
        ...(last === undefined ? {} : { last })
      }
    })
  }

  return { putEvents, completed, startsBetween, startsPage }
}
