import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults apply when nothing is set', async (t) => {
  const c = loadConfig({})
  t.equal(c.HTTP_PORT, 3000)
  t.equal(c.GRPC_PORT, 50051)
  t.equal(c.REDIS_URL, undefined)
  t.equal(c.CASSANDRA_CONTACT_POINTS, undefined)
  t.equal(c.PAGE_SIZE, 10)
  t.equal(c.USERS_REQUIRE_AUTH, true)
})

t.test('a bad value names the variable and what is allowed', async (t) => {
  const err = t.throws(() => loadConfig({ HTTP_PORT: 'abc' })) as ConfigError
  t.type(err, ConfigError)
  t.match(err.message, /HTTP_PORT must be an integer between 0 and 65535 \(got "abc"\)/)
})

t.test('every problem is reported at once', async (t) => {
  const err = t.throws(() => loadConfig({ GRPC_PORT: '70000', LOG_LEVEL: 'loud', USERS_REQUIRE_AUTH: 'maybe' })) as ConfigError
  t.equal(err.problems.length, 3)
  t.match(err.message, /GRPC_PORT must be an integer between 0 and 65535/)
  t.match(err.message, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/)
  t.match(err.message, /USERS_REQUIRE_AUTH must be true or false/)
})

t.test('secrets are never echoed back in the message', async (t) => {
  const err = t.throws(() => loadConfig({ JWT_SECRET: 'short' })) as ConfigError
  t.match(err.message, /JWT_SECRET must be at least 32 characters \(got <hidden>\)/)
  t.notMatch(err.message, /short/)
})

t.test('production requires the signing secrets', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as ConfigError
  t.match(err.message, /JWT_SECRET is required when NODE_ENV=production/)
  t.match(err.message, /ADS_SIGNING_SECRET is required when NODE_ENV=production/)
  t.match(err.message, /SHAPES_SIGNATURE must be set to your own value when NODE_ENV=production/)
  const own = loadConfig({
    NODE_ENV: 'production',
    JWT_SECRET: 'x'.repeat(32),
    ADS_SIGNING_SECRET: 'y'.repeat(32),
    SHAPES_SIGNATURE: 'our-own-signature-our-own-signature',
    PUBLIC_BASE_URL: 'https://games.example.com'
  })
  t.equal(own.SHAPES_SIGNATURE, 'our-own-signature-our-own-signature')
})

t.test('TLS key and certificate go together', async (t) => {
  const err = t.throws(() => loadConfig({ GRPC_TLS_CERT: '/tmp/cert.pem' })) as ConfigError
  t.match(err.message, /GRPC_TLS_CERT and GRPC_TLS_KEY must be set together/)
})

t.test('REDIS_URL must be a redis URL', async (t) => {
  const err = t.throws(() => loadConfig({ REDIS_URL: 'http://x' })) as ConfigError
  t.match(err.message, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/)
  t.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:7000' }).REDIS_URL, 'redis://127.0.0.1:7000')
})

t.test('CASSANDRA_CONSISTENCY is LOCAL_ONE by default and takes a level valid for reads and writes', async (t) => {
  t.equal(loadConfig({}).CASSANDRA_CONSISTENCY, 'LOCAL_ONE')
  t.equal(loadConfig({ CASSANDRA_CONSISTENCY: 'QUORUM' }).CASSANDRA_CONSISTENCY, 'QUORUM')
  t.equal(loadConfig({ CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM' }).CASSANDRA_CONSISTENCY, 'LOCAL_QUORUM')
  for (const level of ['SERIAL', 'ANY', 'EACH_QUORUM', 'quorum']) {
    const err = t.throws(() => loadConfig({ CASSANDRA_CONSISTENCY: level })) as ConfigError
    t.match(err.message, /CASSANDRA_CONSISTENCY must be one of ONE, TWO, THREE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM/)
  }
})

t.test('CASSANDRA_REPLICATION takes a NetworkTopologyStrategy map', async (t) => {
  const map = "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}"
  t.equal(loadConfig({ CASSANDRA_REPLICATION: map }).CASSANDRA_REPLICATION, map)
  t.throws(() => loadConfig({ CASSANDRA_REPLICATION: `${map}; DROP KEYSPACE playfield` }), ConfigError)
})
