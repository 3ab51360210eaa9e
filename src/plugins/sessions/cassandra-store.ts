import cassandra from 'cassandra-driver'
import type { Cassandra, Migration } from '../../plugins/infra/cassandra.js'
import { UnavailableError } from '../../errors.js'
import {
  REJECT, HOUR_US, RETENTION_MS, expiryMs, hourOf,
  type CompletedSession, type EventOutcome, type SessionEvent, type SessionStore, type StartedSession,
  type StartsJson, planWindow, renderCountries
} from './store.js'

// Cassandra layout. Times are bigint microseconds (the timestamp type keeps only milliseconds). Every row carries
// its own TTL, computed from its event time, so nothing outlives 365 days after its ts.
//
//   sessions_events              (session_id, kind): the events as received, written only by a lightweight
//                                transaction (INSERT … IF NOT EXISTS): the claim that makes an event idempotent
//                                even under concurrency — of any number of requests with one (session_id, kind)
//                                exactly one is applied. Pairing reads it.
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
  claimEvent: 'INSERT INTO sessions_events (session_id, kind, player_id, country, ts_us) VALUES (?, ?, ?, ?, ?) ' +
    'IF NOT EXISTS USING TTL ?',
  insertCompleted: 'INSERT INTO sessions_completed (player_id, end_us, session_id, country, start_us) VALUES (?, ?, ?, ?, ?) USING TTL ?',
  insertStart: 'INSERT INTO sessions_starts_by_hour (hour, country, ts_us, session_id, player_id) VALUES (?, ?, ?, ?, ?) USING TTL ?',
  insertCountry: 'INSERT INTO sessions_start_countries (hour, country) VALUES (?, ?) USING TTL ?',
  completed: 'SELECT session_id, country, start_us, end_us FROM sessions_completed WHERE player_id = ?',
  countries: 'SELECT hour, country FROM sessions_start_countries WHERE hour IN ?',
  count: 'SELECT COUNT(*) FROM sessions_starts_by_hour WHERE hour = ? AND country = ? AND ts_us > ? AND ts_us <= ?',
  starts: 'SELECT ts_us, session_id, player_id FROM sessions_starts_by_hour ' +
    'WHERE hour = ? AND country = ? AND ts_us > ? AND ts_us <= ? LIMIT ?'
}

/** In-flight statements per request: enough to hide latency, few enough not to swamp the coordinator. */
const CONCURRENCY = 16
const HOURS_PER_IN = 100

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

export function createCassandraStore ({ client }: { client: cassandra.Client }): SessionStore {
  // Reads and upserts of fixed values may run twice, so the driver may retry them on another node when their
  // coordinator dies (consistency: CASSANDRA_CONSISTENCY, the client's default). The claim may not: retried after it
  // had been applied it would come back "not applied" and skip the derived rows, so its failure goes to the caller,
  // whose resend takes the re-sent path below and repairs them.
  const options = { prepare: true, isIdempotent: true }
  const { localQuorum, serial } = cassandra.types.consistencies
  // SERIAL rather than LOCAL_SERIAL: a claim must win across data centers too.
  const claimOptions = { prepare: true, consistency: localQuorum, serialConsistency: serial, isIdempotent: false }
  const pairingRead = { prepare: true, consistency: localQuorum, isIdempotent: true }

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
   * Everything derived from a claimed event: its start rows, and the completed row once both halves are known. Run
   * after the claim and again for every re-sent event, so a request that failed between its claim and these
   * writes is repaired by the client's retry.
   */
  async function writeDerived (sessionId: string, event: StoredEvent, other: StoredEvent | undefined, nowMs: number) {
    const queries: Array<{ query: string, params: unknown[] }> = event.kind === 'start' ? startRows(sessionId, event, nowMs) : []
    if (other) {
      const [start, end] = event.kind === 'start' ? [event, other] : [other, event]
      if (consistent(start, end)) queries.push(completedRow(start, end, sessionId, nowMs))
    }
    if (queries.length === 1) await client.execute(queries[0]!.query, queries[0]!.params, options)
    // A small logged batch: the rows land together or not at all (never a large multi-event batch).
    else if (queries.length > 1) await client.batch(queries, { ...options, logged: true })
  }

  async function putOne (e: SessionEvent, nowMs: number): Promise<EventOutcome> {
    const stored = await readSession(e.sessionId)
    const other = stored.find(r => r.kind !== e.kind)
    const mine = stored.find(r => r.kind === e.kind)
    if (mine) {
      // Re-sent: nothing new; the derived rows are rewritten from what is stored (same values, same expiry).
      await writeDerived(e.sessionId, mine, other, nowMs)
      return { status: 'duplicate' }
    }
    if (other && other.playerId !== e.playerId) return { status: 'rejected', message: REJECT.otherPlayer }
    if (other && e.kind === 'start' && other.tsUs < e.tsUs) return { status: 'rejected', message: REJECT.startAfterEnd }
    if (other && e.kind === 'end' && e.tsUs < other.tsUs) return { status: 'rejected', message: REJECT.endBeforeStart }

    const me: StoredEvent = { kind: e.kind, playerId: e.playerId, country: e.country ?? null, tsUs: e.tsUs }
    // The claim. Paxos serialises concurrent claims of one (session_id, kind): a request that loses has a duplicate,
    // and the winner writes the derived rows (the loser too, see below). Quorum commit so that the read below
    // (quorum) sees claims that won.
    const claim = await client.execute(CQL.claimEvent,
      [e.sessionId, e.kind, e.playerId, me.country, e.tsUs, ttlSeconds(expiryMs(e.tsUs), nowMs)], claimOptions)
    if (!claim.wasApplied()) {
      // Lost to another request, or to this event's own earlier attempt whose coordinator died mid-Paxos (this
      // claim's Paxos round completed that proposal): then nobody wrote the derived rows yet, so the loser does, as
      // a re-sent event would (same values).
      const settled = await readSession(e.sessionId, pairingRead)
      const won = settled.find(r => r.kind === e.kind)
      if (won) await writeDerived(e.sessionId, won, settled.find(r => r.kind !== e.kind), nowMs)
      return { status: 'duplicate' }
    }

    // The other half may have been claimed meanwhile by a concurrent request that did not see this one: both read
    // after their own claim, so whichever claimed second sees the first and pairs the session (if both do, the
    // completed row is written twice with the same values).
    const late = other ?? (await readSession(e.sessionId, pairingRead)).find(r => r.kind !== e.kind)
    await writeDerived(e.sessionId, me, late, nowMs)
    return { status: 'accepted' }
  }

  async function putEvents (events: SessionEvent[], nowMs: number): Promise<EventOutcome[]> {
    // Events of one session run in order (start then end in one batch pair up); sessions run side by side.
    const bySession = new Map<string, number[]>()
    events.forEach((e, i) => {
      const list = bySession.get(e.sessionId)
      if (list) list.push(i)
      else bySession.set(e.sessionId, [i])
    })
    const out: EventOutcome[] = new Array(events.length)
    await run(() => mapLimit([...bySession.values()], CONCURRENCY, async (indexes) => {
      for (const i of indexes) out[i] = await putOne(events[i] as SessionEvent, nowMs)
    }))
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

  async function startsBetween (sinceUs: number, untilUs: number, limit: number, maxListed = Infinity):
  Promise<StartsJson> {
    return await run(async () => {
      const hours: number[] = []
      for (let h = hourOf(untilUs); h >= hourOf(sinceUs); h--) hours.push(h)
      const chunks: number[][] = []
      for (let i = 0; i < hours.length; i += HOURS_PER_IN) chunks.push(hours.slice(i, i + HOURS_PER_IN))
      const found = (await mapLimit(chunks, CONCURRENCY, async (chunk) => {
        const rs = await client.execute(CQL.countries, [chunk], options)
        return rs.rows.map(r => ({ hour: num(r.hour), country: r.country as string }))
      })).flat().sort((a, b) => b.hour - a.hour)

      const counts = await mapLimit(found, CONCURRENCY, async ({ hour, country }) =>
        num((await client.execute(CQL.count, [hour, country, sinceUs, untilUs], options)).first()?.count ?? 0))

      const { result, wanted } = planWindow(found, counts, limit, maxListed)
      const lists = await mapLimit(wanted, CONCURRENCY, async ({ hour, country, take }) =>
        (await client.execute(CQL.starts, [hour, country, sinceUs, untilUs, take], options)).rows
          .map((r): StartedSession => ({ sessionId: r.session_id, playerId: r.player_id, tsUs: num(r.ts_us) })))
      wanted.forEach(({ country }, i) => { result.countries[country]?.sessions.push(...(lists[i] ?? [])) })
      return renderCountries(result)
    })
  }

  return { putEvents, completed, startsBetween }
}
