import { createHmac, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import type { Clock } from '../../clock.js'
import { ForbiddenError, InvalidArgumentError, NotFoundError } from '../../errors.js'
import type { AdCounts, AdsStore } from './redis-store.js'
import { acceptUpstreamVast, builtinVastTemplate, NO_FILL_VAST, type BuiltinAd } from './vast.js'

// Ad requests, impressions and their statistics, per username and per SDK version.
//
// Counting rule: every valid GET /ad is one ad request for its username and its SDK version, whatever the
// upstream did; when no ad at all could be served it is also one no-fill. Every valid plain GET /impression
// is one impression; a signed one (from an Impression URL we served) counts at most once per ad serving id.

export const AD_PARAMS = ['sdk_version', 'session_id', 'platform', 'username', 'country_code'] as const
export type AdParams = Record<typeof AD_PARAMS[number], string>
const SIGNED_PARAMS = ['ad_serving_id', 'ts', 'sig'] as const

const MAX_LENGTH: Record<keyof AdParams, number> = {
  sdk_version: 32, session_id: 128, platform: 32, username: 128, country_code: 2
}
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
// One to four numbers: SDKs report `1` as well as `1.0` or `2.3.1`.
const DOTTED_VERSION = /^\d+(\.\d+){0,3}([-+][0-9A-Za-z.-]+)?$/
// Present but empty is allowed only here: an SDK asks for an ad before its session has an id (e.g. at first launch),
// and session_id is neither counted nor a key. The counted values (sdk_version, username) and platform stay required.
const MAY_BE_EMPTY: ReadonlySet<string> = new Set(['session_id'])
const COUNTRY = /^[A-Za-z]{2}$/
const COUNTRY_RULE = 'country_code must be two letters (ISO 3166-1 alpha-2)'
const AD_SERVING_ID = /^[A-Za-z0-9-]{8,64}$/
const SIG = /^[A-Za-z0-9_-]{43}$/
const UPSTREAM_MAX_BYTES = 1024 * 1024

export type Query = Record<string, unknown>

/** `following params are required ['a', 'b']`, the original service's wording (a Python list). */
export function requiredMessage (names: readonly string[]): string {
  return `following params are required [${names.map(n => `'${n}'`).join(', ')}]`
}

function single (query: Query, name: string): string {
  const v = query[name]
  if (typeof v === 'string') return v
  if (Array.isArray(v)) throw new InvalidArgumentError(`${name} must be given once`)
  return String(v)
}

/** Validates the five parameters of /ad and /impression, in the documented order. */
export function parseAdParams (query: Query): AdParams {
  const missing = AD_PARAMS.filter(name => query[name] === undefined)
  if (missing.length > 0) throw new InvalidArgumentError(requiredMessage(missing))
  const out = {} as AdParams
  for (const name of AD_PARAMS) {
    const v = single(query, name)
    const max = MAX_LENGTH[name]
    if (v === '' && !MAY_BE_EMPTY.has(name)) throw new InvalidArgumentError(`${name} must not be empty`)
    if (v.length > max) {
      // An alpha-3 code (FIN) gets the rule itself, not a length: it is the mistake a client makes.
      if (name === 'country_code') throw new InvalidArgumentError(COUNTRY_RULE)
      throw new InvalidArgumentError(`${name} must be at most ${max} characters`)
    }
    if (CONTROL.test(v)) throw new InvalidArgumentError(`${name} must not contain control characters`)
    out[name] = v
  }
  if (!DOTTED_VERSION.test(out.sdk_version)) throw new InvalidArgumentError('sdk_version must be a dotted version such as 1.0 or 2.3.1')
  if (!COUNTRY.test(out.country_code)) throw new InvalidArgumentError(COUNTRY_RULE)
  // /statistics answers { success, <value>: stats }: a user named "success" would overwrite the flag and lose
  // its numbers, so the name is refused where it would first be counted.
  if (out.username === 'success') throw new InvalidArgumentError('username "success" is reserved')
  return out
}

export interface SignedRef { adServingId: string, ts: number, sig: string }

/** The ad serving id, time and signature of an impression URL we served; undefined for a plain impression. */
export function parseSignedRef (query: Query): SignedRef | undefined {
  if (SIGNED_PARAMS.every(name => query[name] === undefined)) return undefined
  const missing = SIGNED_PARAMS.filter(name => query[name] === undefined)
  if (missing.length > 0) throw new InvalidArgumentError(requiredMessage(missing))
  const adServingId = single(query, 'ad_serving_id')
  const ts = single(query, 'ts')
  const sig = single(query, 'sig')
  if (!AD_SERVING_ID.test(adServingId)) throw new InvalidArgumentError('ad_serving_id must be 8-64 of A-Z a-z 0-9 -')
  if (!/^\d{1,12}$/.test(ts)) throw new InvalidArgumentError('ts must be a Unix time in seconds')
  if (!SIG.test(sig)) throw new InvalidArgumentError('sig is malformed')
  return { adServingId, ts: Number(ts), sig }
}

export type StatisticsFilter = { kind: 'username' | 'sdk', value: string }

/** The first of username / sdk in the query string wins, as in the original service. */
export function parseStatisticsFilter (rawQueryString: string): StatisticsFilter {
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    if (key !== 'username' && key !== 'sdk') continue
    if (value === '') throw new InvalidArgumentError(`${key} must not be empty`)
    if (value.length > 128) throw new InvalidArgumentError(`${key} must be at most 128 characters`)
    return { kind: key, value }
  }
  throw new InvalidArgumentError(requiredMessage(['username', 'sdk']))
}

export interface Statistics { impressions: number, ad_requests: number, fill_rate: number, no_fills: number }

export interface AdsDeps {
  store: AdsStore
  clock: Clock
  config: Config
  /** HMAC key for Impression URLs. */
  secret: string
  log: FastifyBaseLogger
  /** Told how each upstream attempt ended (metrics). */
  onUpstream?: (outcome: 'ad' | 'empty' | 'invalid' | 'error' | 'timeout') => void
}

export function createAds ({ store, clock, config, secret, log, onUpstream }: AdsDeps) {
  const builtin: BuiltinAd = {
    adSystem: config.ADS_AD_SYSTEM,
    adTitle: config.ADS_AD_TITLE,
    mediaUrl: config.ADS_MEDIA_URL,
    mediaType: config.ADS_MEDIA_TYPE,
    width: config.ADS_MEDIA_WIDTH,
    height: config.ADS_MEDIA_HEIGHT,
    durationSec: config.ADS_AD_DURATION_S
  }
  const renderBuiltin = builtinVastTemplate(builtin)
  const publicBase = config.PUBLIC_BASE_URL?.replace(/\/+$/, '')
  // imported once, not on every signature
  const key = createSecretKey(Buffer.from(secret, 'utf8'))

  const sign = (p: AdParams, adServingId: string, ts: number) =>
    // Values never contain control characters (validated), so newline-joining is unambiguous.
    createHmac('sha256', key)
      .update([p.sdk_version, p.session_id, p.platform, p.username, p.country_code, adServingId, ts].join('\n'))
      .digest('base64url')

  function impressionUrl (p: AdParams, adServingId: string, requestBase: string): string {
    const ts = Math.floor(clock.now() / 1000)
    const qs = new URLSearchParams({ ...p, ad_serving_id: adServingId, ts: String(ts), sig: sign(p, adServingId, ts) })
    return `${publicBase ?? requestBase}/impression?${qs.toString()}`
  }

  // A failing upstream is warned about at most every 10 s, not once per ad request.
  let lastWarn = 0
  let suppressed = 0
  function warnUpstream (reason: string) {
    const now = clock.now()
    if (now - lastWarn < 10_000) { suppressed++; return }
    log.warn({ reason, suppressed }, 'VAST upstream gave no usable ad; serving the fallback')
    lastWarn = now
    suppressed = 0
  }

  async function fetchUpstream (url: string): Promise<string | undefined> {
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(config.VAST_TIMEOUT_MS),
        headers: { accept: 'application/xml, text/xml;q=0.9, */*;q=0.1' }
      })
      if (!res.ok) {
        await res.body?.cancel()
        warnUpstream(`HTTP ${res.status}`)
        onUpstream?.('error')
        return undefined
      }
      let size = 0
      const chunks: Buffer[] = []
      for await (const chunk of res.body ?? []) {
        size += chunk.byteLength
        if (size > UPSTREAM_MAX_BYTES) throw new Error(`response larger than ${UPSTREAM_MAX_BYTES} bytes`)
        chunks.push(Buffer.from(chunk))
      }
      return Buffer.concat(chunks).toString('utf8')
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError'
      warnUpstream(timedOut ? `no answer within ${config.VAST_TIMEOUT_MS} ms` : (err as Error).message)
      onUpstream?.(timedOut ? 'timeout' : 'error')
      return undefined
    }
  }

  async function upstreamAd (impression: string): Promise<string | undefined> {
    if (!config.VAST_UPSTREAM_URL) return undefined
    const body = await fetchUpstream(config.VAST_UPSTREAM_URL)
    if (body === undefined) return undefined
    const verdict = acceptUpstreamVast(body, impression)
    onUpstream?.(verdict.kind)
    if (verdict.kind === 'ad') return verdict.xml
    if (verdict.kind === 'invalid') warnUpstream(verdict.reason)
    return undefined
  }

  function statistics (counts: AdCounts): Statistics {
    const { impressions, ad_requests: adRequests, no_fills: noFills } = counts
    const fillRate = adRequests === 0 ? 0 : impressions / adRequests
    return { impressions, ad_requests: adRequests, fill_rate: fillRate, no_fills: noFills }
  }

  return {
    /**
     * Serves one ad as VAST XML: the upstream's (when configured and usable), else the built-in one, else an
     * empty VAST (no-fill). Counts the ad request (and the no-fill) in one round trip before answering.
     */
    async requestAd (p: AdParams, requestBase: string): Promise<{ xml: string, source: 'upstream' | 'builtin' | 'none' }> {
      const adServingId = randomUUID()
      const impression = impressionUrl(p, adServingId, requestBase)
      let source: 'upstream' | 'builtin' | 'none' = 'none'
      let xml = await upstreamAd(impression)
      if (xml !== undefined) source = 'upstream'
      else if (config.ADS_BUILTIN_AD) {
        xml = renderBuiltin(adServingId, impression)
        source = 'builtin'
      }
      await store.countAdRequest(p.username, p.sdk_version, xml === undefined)
      return { xml: xml ?? NO_FILL_VAST, source }
    },

    /** A plain impression (as the original SDKs send it): every call counts. */
    countImpression (p: AdParams): Promise<void> {
      return store.countImpression(p.username, p.sdk_version)
    },

    /** An impression from an Impression URL we served: verified, and counted once per ad serving id. */
    async countSignedImpression (p: AdParams, ref: SignedRef): Promise<boolean> {
      const expected = Buffer.from(sign(p, ref.adServingId, ref.ts), 'base64url')
      if (!timingSafeEqual(expected, Buffer.from(ref.sig, 'base64url'))) {
        throw new ForbiddenError('impression signature does not match')
      }
      if (clock.now() / 1000 > ref.ts + config.ADS_IMPRESSION_TTL_S) throw new ForbiddenError('impression URL has expired')
      return await store.countImpressionOnce(p.username, p.sdk_version, ref.adServingId, config.ADS_IMPRESSION_TTL_S)
    },

    async statistics (filter: StatisticsFilter): Promise<Statistics> {
      const counts = filter.kind === 'username'
        ? await store.userCounts(filter.value)
        : await store.sdkCounts(filter.value)
      if (!counts) throw new NotFoundError(`${filter.value} not found`)
      return statistics(counts)
    }
  }
}

export type Ads = ReturnType<typeof createAds>
