// All settings come from the environment and are validated here, once, at boot. Nothing else reads process.env.
// Each entry knows its default and how to explain a bad value, so a misconfigured start names the variable
// and what is allowed instead of failing later somewhere deep inside a plugin.

type Parser<T> = { parse (raw: string | undefined): T, doc: string }

class ConfigValueError extends Error {}

function int (def: number | undefined, min: number, max: number): Parser<number> {
  return {
    doc: `integer ${min}..${max}`,
    parse (raw) {
      if (raw === undefined || raw === '') {
        if (def === undefined) throw new ConfigValueError('is required')
        return def
      }
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigValueError(`must be an integer between ${min} and ${max}`)
      const n = Number(raw)
      if (n < min || n > max) throw new ConfigValueError(`must be an integer between ${min} and ${max}`)
      return n
    }
  }
}

function str (def: string, opts: { pattern?: RegExp, hint?: string } = {}): Parser<string> {
  return {
    doc: opts.hint ?? 'string',
    parse (raw) {
      const v = raw === undefined || raw === '' ? def : raw
      if (opts.pattern && v !== '' && !opts.pattern.test(v)) throw new ConfigValueError(`must be ${opts.hint}`)
      return v
    }
  }
}

function optional (opts: { pattern?: RegExp, hint?: string } = {}): Parser<string | undefined> {
  return {
    doc: opts.hint ?? 'string (optional)',
    parse (raw) {
      if (raw === undefined || raw === '') return undefined
      if (opts.pattern && !opts.pattern.test(raw)) throw new ConfigValueError(`must be ${opts.hint}`)
      return raw
    }
  }
}

function oneOf<T extends string> (def: T, values: readonly T[]): Parser<T> {
  return {
    doc: values.join(' | '),
    parse (raw) {
      const v = raw === undefined || raw === '' ? def : raw
      if (!(values as readonly string[]).includes(v)) throw new ConfigValueError(`must be one of ${values.join(', ')}`)
      return v as T
    }
  }
}

function bool (def: boolean): Parser<boolean> {
  return {
    doc: 'true | false',
    parse (raw) {
      if (raw === undefined || raw === '') return def
      const v = raw.toLowerCase()
      if (['true', '1', 'yes'].includes(v)) return true
      if (['false', '0', 'no'].includes(v)) return false
      throw new ConfigValueError('must be true or false')
    }
  }
}

function num (def: number, min: number, max: number): Parser<number> {
  return {
    doc: `number ${min}..${max}`,
    parse (raw) {
      if (raw === undefined || raw === '') return def
      const n = Number(raw)
      if (!Number.isFinite(n) || n < min || n > max) throw new ConfigValueError(`must be a number between ${min} and ${max}`)
      return n
    }
  }
}

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i
const CRON_PATTERN = /^(\S+\s+){4,5}\S+$/

/** Consistency levels valid for both reads and writes (ANY and EACH_QUORUM are write-only on older servers). */
export const CASSANDRA_CONSISTENCIES = ['ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'LOCAL_ONE', 'LOCAL_QUORUM'] as const
export type CassandraConsistency = typeof CASSANDRA_CONSISTENCIES[number]

export const DEFAULT_SHAPES_SIGNATURE = 'playfield-signature'
export const MIN_PRODUCTION_SECRET_BYTES = 32

export const configSpec = {
  NODE_ENV: oneOf('development', ['development', 'production', 'test'] as const),
  LOG_LEVEL: oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  HOST: str('127.0.0.1', { hint: 'an interface address such as 127.0.0.1 or 0.0.0.0' }),
  HTTP_PORT: int(3000, 0, 65535),
  GRPC_PORT: int(50051, 0, 65535),
  SHUTDOWN_TIMEOUT_MS: int(10000, 100, 600000),
  // After a stop signal: report not-ready but keep serving this long, so requests already on the wire (and load
  // balancers still routing here) are answered normally before the listeners close.
  SHUTDOWN_DRAIN_MS: int(500, 0, 60000),
  HEALTH_CHECK_INTERVAL_MS: int(1000, 50, 60000),
  BODY_LIMIT_BYTES: int(1048576, 1024, 104857600),
  // Load shedding (@fastify/under-pressure): answer 503 + Retry-After while any threshold is exceeded; 0 turns that
  // threshold off. /health/live is never shed; /health/ready answers 503 with the reason.
  MAX_EVENT_LOOP_DELAY_MS: int(1000, 0, 60000),
  MAX_EVENT_LOOP_UTILIZATION: num(0, 0, 1),
  MAX_HEAP_USED_MB: int(0, 0, 1048576),
  MAX_RSS_MB: int(0, 0, 1048576),
  PRESSURE_SAMPLE_INTERVAL_MS: int(1000, 10, 60000),
  PRESSURE_RETRY_AFTER_S: int(5, 1, 3600),

  REDIS_URL: optional({ pattern: /^(rediss?:\/\/|unix:\/\/|\/)\S+$/, hint: 'a redis:// or rediss:// URL (or a unix socket path)' }),
  // A Redis Cluster: every connection (commands, scripts, BullMQ) becomes a cluster client; no embedded server.
  REDIS_CLUSTER_NODES: optional({ pattern: /^[^,\s:]+:\d{1,5}(,[^,\s:]+:\d{1,5})*$/, hint: 'comma-separated host:port list of cluster nodes' }),
  // Credentials and TLS for REDIS_CLUSTER_NODES (a REDIS_URL carries its own: redis://user:pass@host, rediss://).
  REDIS_USERNAME: optional(),
  REDIS_PASSWORD: optional(),
  REDIS_TLS: bool(false),
  REDIS_DATA_DIR: str('./data/redis'),
  REDIS_SERVER_BIN: str('redis-server'),
  // The embedded redis-server's memory cap (redis-server syntax: 256mb, 1gb; 0 = no cap). Its policy is noeviction:
  // at the cap writes are refused (503), nothing the service stored is ever dropped.
  REDIS_MAXMEMORY: str('256mb', { pattern: /^\d+(b|kb|mb|gb)?$/i, hint: 'a size such as 256mb or 1gb (0 for no cap)' }),
  // Every command of the shared connections fails after this long (503 / UNAVAILABLE) instead of hanging on a
  // stalled Redis. BullMQ workers' blocking connections are exempt (their commands block on purpose).
  REDIS_COMMAND_TIMEOUT_MS: int(2000, 50, 600000),

  CASSANDRA_CONTACT_POINTS: optional({ pattern: /^[^,\s]+(,[^,\s]+)*$/, hint: 'comma-separated host[:port] list' }),
  CASSANDRA_LOCAL_DC: str('datacenter1'),
  CASSANDRA_KEYSPACE: str('playfield', { pattern: /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/, hint: 'a CQL identifier (letters, digits, _)' }),
  CASSANDRA_REPLICATION: str("{'class': 'SimpleStrategy', 'replication_factor': 1}", {
    pattern: /^\{[^;]*\}$/,
    hint: "a CQL replication map such as {'class': 'SimpleStrategy', 'replication_factor': 1} or " +
      "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}"
  }),
  // Reads and writes of the sessions store. LOCAL_ONE suits one node; on a cluster with replication 3 use QUORUM (or
  // LOCAL_QUORUM with several data centres): a quorum write plus a quorum read always overlap, so every acknowledged
  // event is read back even while one node is down. Lightweight transactions keep their own SERIAL consistency.
  CASSANDRA_CONSISTENCY: oneOf('LOCAL_ONE', CASSANDRA_CONSISTENCIES),
  // The driver's per-request read timeout (socketOptions.readTimeout); schema changes get a longer one.
  CASSANDRA_READ_TIMEOUT_MS: int(5000, 100, 600000),
  CASSANDRA_USERNAME: optional(),
  CASSANDRA_PASSWORD: optional(),

  GRPC_TLS_CERT: optional({ hint: 'path to a PEM certificate chain' }),
  GRPC_TLS_KEY: optional({ hint: 'path to a PEM private key' }),
  GRPC_TLS_CLIENT_CA: optional({ hint: 'path to a PEM CA bundle; enables mutual TLS' }),

  // Behind a load balancer: which proxies to believe about the client address (X-Forwarded-For), for the login
  // and rate limits. true (every hop), a hop count, or a comma list of proxy addresses / CIDRs (as Fastify's
  // trustProxy). gRPC takes the last x-forwarded-for entry when this is set.
  TRUST_PROXY: optional({ pattern: /^(true|false|\d+|[0-9A-Fa-f.:/]+(\s*,\s*[0-9A-Fa-f.:/]+)*)$/, hint: 'true, a hop count, or a comma-separated list of proxy addresses/CIDRs' }),
  RATE_LIMIT_MAX: int(100, 1, 1000000),
  RATE_LIMIT_WINDOW_MS: int(60000, 100, 86400000),
  METRICS_ENABLED: bool(true),

  WORKERS_ENABLED: bool(true),
  WORKER_CONCURRENCY: int(4, 1, 256),

  // leaderboard and accounts
  PAGE_SIZE: int(10, 1, 1000),
  MAX_BATCH: int(100, 1, 10000),
  MAX_BOARDS: int(1000, 1, 1000000),
  // Boards one (non-admin) account may create, i.e. be the first to submit a score to.
  MAX_BOARDS_PER_ACCOUNT: int(10, 1, 1000000),
  JWT_SECRET: optional({ pattern: /^.{32,}$/, hint: 'at least 32 characters' }),
  JWT_TTL: int(1800, 10, 86400),
  ADMIN_USER: optional({ pattern: /^[A-Za-z0-9_.@-]{1,64}$/, hint: '1-64 of A-Z a-z 0-9 _ . @ -' }),
  ADMIN_PASSWORD: optional({ pattern: /^.{8,}$/, hint: 'at least 8 characters' }),
  TOKEN_BYTES: int(7, 7, 64),
  // gRPC tokens (AuthenticateUser, POST /tokens) expire this long after they were issued.
  TOKEN_TTL_S: int(86400, 1, 31536000),
  // Login limits, on every login path of both doors (see SECURITY.md). All counted in Redis, per window:
  LOGIN_WINDOW_MS: int(900000, 1000, 86400000),
  // failed logins for one account from one address (past it: that address is refused for that account)
  LOGIN_MAX_FAILURES_PER_CLIENT: int(10, 1, 1000000),
  // failed logins from one address over all accounts (password spraying)
  LOGIN_MAX_FAILURES_PER_IP: int(50, 1, 1000000),
  // failed logins for one account from anywhere; past it only addresses trusted for the account may try
  LOGIN_MAX_FAILURES_PER_ACCOUNT: int(100, 1, 1000000),
  // how long a correct login makes its address trusted for the account
  LOGIN_TRUST_MS: int(2592000000, 60000, 31536000000),
  // password hashes (scrypt) computed at once, and callers that may wait for one; more get 503 / RESOURCE_EXHAUSTED
  SCRYPT_MAX_CONCURRENT: int(2, 1, 64),
  SCRYPT_MAX_WAITING: int(32, 0, 100000),
  LEADERBOARD_MAINTENANCE_CRON: str('0 3 * * *', { pattern: CRON_PATTERN, hint: 'a 5- or 6-field cron expression' }),

  // ads
  VAST_UPSTREAM_URL: optional({ pattern: URL_PATTERN, hint: 'an http(s) URL' }),
  VAST_TIMEOUT_MS: int(1000, 1, 60000),
  ADS_SIGNING_SECRET: optional({ pattern: /^.{16,}$/, hint: 'at least 16 characters' }),
  PUBLIC_BASE_URL: optional({ pattern: URL_PATTERN, hint: 'the URL clients reach this service at, e.g. https://ads.example.com' }),
  ADS_IMPRESSION_TTL_S: int(86400, 60, 2592000),
  // A username's / SDK version's counters expire this long after their last count (30 days by default).
  ADS_COUNTER_TTL_S: int(2592000, 3600, 31536000),
  // Per client address and RATE_LIMIT_WINDOW_MS, each of GET /ad and GET /impression (0: no limit).
  ADS_RATE_LIMIT_MAX: int(600, 0, 1000000),
  ADS_BUILTIN_AD: bool(true),
  ADS_AD_SYSTEM: str('playfield'),
  ADS_AD_TITLE: str('playfield house ad'),
  ADS_MEDIA_URL: str('https://cdn.example.com/playfield/house-ad.mp4', { pattern: URL_PATTERN, hint: 'an http(s) URL' }),
  ADS_MEDIA_TYPE: str('video/mp4', { pattern: /^[\w.+-]+\/[\w.+-]+$/, hint: 'a MIME type such as video/mp4' }),
  ADS_MEDIA_WIDTH: int(1280, 1, 10000),
  ADS_MEDIA_HEIGHT: int(720, 1, 10000),
  ADS_AD_DURATION_S: int(15, 1, 3600),

  // users
  USERS_REQUIRE_AUTH: bool(true),
  USERS_EXPORT_PATH: str('./data/all_users.json'),
  USERS_BATCH_SIZE: int(500, 1, 10000),
  // Emails one ingest call remembers for skipping repeated identical records (a bounded window; ~100 bytes each).
  USERS_DEDUP_WINDOW: int(100000, 1, 10000000),
  USERS_EXPORT_DEBOUNCE_MS: int(2000, 0, 3600000),
  USERS_MAX_WAITING_JOBS: int(200, 1, 1000000),
  USERS_JOB_ATTEMPTS: int(5, 1, 100),
  USERS_LOCK_DURATION_MS: int(30000, 500, 600000),
  USERS_RETRY_BACKOFF_MS: int(1000, 10, 600000),

  // categories: the caps of one category tree (everything under one root, attached subtrees included), and the
  // page size of a read's lists (the default and the most a caller may ask for with ?limit=)
  CATEGORIES_MAX_NODES: int(10000, 1, 100000),
  CATEGORIES_MAX_DEPTH: int(32, 1, 64),
  CATEGORIES_PAGE_MAX: int(1000, 1, 10000),

  // sessions: POST /put_events batches per client address and RATE_LIMIT_WINDOW_MS (0: no limit)
  SESSIONS_RATE_LIMIT_MAX: int(600, 0, 1000000),
  // GET /start_players_events/:hours lists at most `limit` sessions per country and at most this many in all
  // (a page of one country too)
  SESSIONS_WINDOW_MAX_LISTED: int(10000, 1, 1000000),

  // shapes
  SHAPES_SIGNATURE: str(DEFAULT_SHAPES_SIGNATURE),
  // GetTotalArea sums any number of ids but lists at most this many valid and this many invalid ones in its answer.
  SHAPES_TOTAL_AREA_MAX_IDS: int(10000, 0, 1000000),
  SHAPES_CHAOS_FAILURE_RATE: num(0, 0, 1),
  SHAPES_CHAOS_FAILURE_COUNT: int(0, 0, 1000000)
}

type Spec = typeof configSpec
export type Config = { [K in keyof Spec]: Spec[K] extends Parser<infer T> ? T : never }

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

/** Validates every variable at once and reports all problems together. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [key, parser] of Object.entries(configSpec) as Array<[string, Parser<unknown>]>) {
    try {
      out[key] = parser.parse(env[key])
    } catch (err) {
      if (!(err instanceof ConfigValueError)) throw err
      const shown = key.includes('SECRET') || key.includes('PASSWORD') ? '<hidden>' : JSON.stringify(env[key])
      problems.push(`${key} ${err.message} (got ${shown})`)
    }
  }
  const cfg = out as Config
  if (Boolean(cfg.GRPC_TLS_CERT) !== Boolean(cfg.GRPC_TLS_KEY)) {
    problems.push('GRPC_TLS_CERT and GRPC_TLS_KEY must be set together')
  }
  if (cfg.REDIS_URL && cfg.REDIS_CLUSTER_NODES) problems.push('set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both')
  if (cfg.GRPC_TLS_CLIENT_CA && !cfg.GRPC_TLS_CERT) problems.push('GRPC_TLS_CLIENT_CA needs GRPC_TLS_CERT and GRPC_TLS_KEY')
  if (cfg.NODE_ENV === 'production') {
    if (!cfg.JWT_SECRET) problems.push('JWT_SECRET is required when NODE_ENV=production (at least 32 characters)')
    if (!cfg.ADS_SIGNING_SECRET) problems.push('ADS_SIGNING_SECRET is required when NODE_ENV=production (at least 32 bytes)')
    // The default is printed in the docs and built into the CLI: in production it would be no secret at all.
    if (cfg.SHAPES_SIGNATURE === DEFAULT_SHAPES_SIGNATURE) {
      problems.push('SHAPES_SIGNATURE must be set to your own value when NODE_ENV=production (the default is public)')
    }
    // A short secret can be guessed offline from one signed value (a JWT, an impression URL).
    for (const key of ['JWT_SECRET', 'ADS_SIGNING_SECRET', 'SHAPES_SIGNATURE'] as const) {
      const bytes = Buffer.byteLength(cfg[key] ?? '')
      if (bytes > 0 && bytes < MIN_PRODUCTION_SECRET_BYTES) {
        problems.push(`${key} must be at least ${MIN_PRODUCTION_SECRET_BYTES} bytes when NODE_ENV=production (got ${bytes})`)
      }
    }
    if (!cfg.PUBLIC_BASE_URL) {
      problems.push('PUBLIC_BASE_URL is required when NODE_ENV=production (the URL clients reach this service at; ' +
        'ad impression URLs are built from it, never from the Host header)')
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return cfg
}
