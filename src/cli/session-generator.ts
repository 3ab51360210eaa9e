// Synthetic game-client traffic, modelled on the original service's generator: N countries × M players × K sessions,
// starts spread over a recent window, ends a little later (never in the future), shuffled into batches.
// Used by the tests, the bench and `playfield sessions simulate`; seeded, so a run can be repeated exactly.

export interface GeneratedSession {
  sessionId: string
  playerId: string
  country: string
  startUs: number
  endUs: number
}

/** An event as a game client posts it to POST /put_events. */
export interface ClientEvent {
  event: 'start' | 'end'
  player_id: string
  session_id: string
  ts: string
  country?: string
}

export interface GenerateOptions {
  /** "now" in ms: starts fall within `startWithinMs` before it, ends never after it. */
  nowMs: number
  countries?: number
  playersPerCountry?: number
  sessionsPerPlayer?: number
  startWithinMs?: number
  maxDurationMs?: number
  seed?: number
}

const DEFAULT_COUNTRIES = ['FI', 'SE', 'NO', 'DK', 'DE', 'FR', 'GB', 'US', 'JP', 'BR', 'IN', 'CA', 'AU', 'ES', 'IT',
  'NL', 'PL', 'KR', 'MX', 'AR']

/** mulberry32: a tiny seeded PRNG with uniform floats in [0, 1). */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function hexId (random: () => number, length: number): string {
  let s = ''
  while (s.length < length) s += Math.floor(random() * 0x10000).toString(16).padStart(4, '0')
  return s.slice(0, length)
}

/** A UUID-shaped id from the seeded generator (the original clients send UUIDs). */
export function uuidLike (random: () => number): string {
  const h = hexId(random, 32)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`
}

/** Client-style timestamp: no zone (UTC), microseconds, e.g. `2016-12-02T12:48:05.520022`. */
export function clientTimestamp (us: number): string {
  const ms = Math.floor(us / 1000)
  return new Date(ms).toISOString().slice(0, -1) + String(us - ms * 1000).padStart(3, '0')
}

export function generateSessions (opts: GenerateOptions): GeneratedSession[] {
  const {
    nowMs, countries = 10, playersPerCountry = 10, sessionsPerPlayer = 5,
    startWithinMs = 30 * 24 * 3600 * 1000, maxDurationMs = 15 * 3600 * 1000, seed = 1
  } = opts
  const random = seededRandom(seed)
  const nowUs = nowMs * 1000
  const codes = Array.from({ length: countries }, (_, i) => DEFAULT_COUNTRIES[i % DEFAULT_COUNTRIES.length] as string)
  const out: GeneratedSession[] = []
  for (const country of codes) {
    for (let p = 0; p < playersPerCountry; p++) {
      const playerId = uuidLike(random)
      for (let s = 0; s < sessionsPerPlayer; s++) {
        const startUs = nowUs - 1 - Math.floor(random() * startWithinMs * 1000)
        const endUs = Math.min(nowUs, startUs + 1 + Math.floor(random() * maxDurationMs * 1000))
        out.push({ sessionId: uuidLike(random), playerId, country, startUs, endUs })
      }
    }
  }
  return out
}

export function toEvents (sessions: GeneratedSession[]): ClientEvent[] {
  return sessions.flatMap((s): ClientEvent[] => [
    { event: 'start', player_id: s.playerId, session_id: s.sessionId, ts: clientTimestamp(s.startUs), country: s.country },
    { event: 'end', player_id: s.playerId, session_id: s.sessionId, ts: clientTimestamp(s.endUs) }
  ])
}

/** Fisher-Yates with the seeded generator. */
export function shuffle<T> (items: T[], seed = 2): T[] {
  const random = seededRandom(seed)
  const a = items.slice()
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = a[i] as T
    a[i] = a[j] as T
    a[j] = tmp
  }
  return a
}

export function batches<T> (items: T[], size = 10): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
