import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import tap from 'tap'
import { build } from '../../helpers/app.js'
import { sessionsContract } from './contract.js'
import { cassandraFor, cassandraSkipReason } from '../../helpers/cassandra.js'
import { hourOf } from '../../../src/plugins/sessions/store.js'
import type { FastifyInstance } from 'fastify'

type Test = import('tap').Test

// Absolute expiry (ms) of a cell, from the TTL Cassandra reports: whole seconds, counted from the whole second now.
async function expiresAt (app: FastifyInstance, cql: string, params: unknown[]): Promise<number> {
  const rs = await app.cassandra!.client.execute(cql, params, { prepare: true })
  const ttl = rs.first()?.get(0)
  if (typeof ttl !== 'number') throw new Error(`no TTL for ${cql} ${JSON.stringify(params)}`)
  return (Math.floor(Date.now() / 1000) + ttl) * 1000
}

const TABLES = ['sessions_events', 'sessions_completed', 'sessions_starts_by_hour', 'sessions_start_countries']
let fileEnv: ReturnType<typeof cassandraFor> | undefined

sessionsContract(tap, {
  skip: await cassandraSkipReason(),
  async app (t, clock) {
    // One keyspace for the file (creating one costs seconds on Cassandra 2.1); each test starts from empty tables.
    fileEnv ??= cassandraFor(tap)
    const env = await fileEnv
    if (!env) throw new Error('no Cassandra although the test was not skipped')
    const app = await build(t, { clock, config: { ...env } })
    for (const table of TABLES) await app.cassandra!.client.execute(`TRUNCATE ${table}`)
    return app
  },
  async expiries (app, s) {
    return {
      session: await expiresAt(app, 'SELECT TTL(player_id) FROM sessions_events WHERE session_id = ? AND kind = ?',
        [s.sessionId, 'start']),
      completed: await expiresAt(app, 'SELECT TTL(country) FROM sessions_completed WHERE player_id = ? AND end_us = ? AND session_id = ?',
        [s.playerId, s.endUs, s.sessionId]),
      start: await expiresAt(app, 'SELECT TTL(player_id) FROM sessions_starts_by_hour WHERE hour = ? AND country = ? AND ts_us = ? AND session_id = ?',
        [hourOf(s.startUs), s.country, s.startUs, s.sessionId])
    }
  }
})

/** A TCP relay to Cassandra that the test can cut and restore, to take "Cassandra" away from one app only. */
async function relay (t: Test, target: string) {
  const [host, port] = target.split(',')[0]!.split(':') as [string, string]
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(Number(port), host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const relayPort = (server.address() as AddressInfo).port
  const cut = async () => {
    await new Promise<void>(resolve => {
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    })
  }
  // Back on the same port: the driver reconnects to the address it knows.
  const restore = async () => { await new Promise<void>(resolve => server.listen(relayPort, '127.0.0.1', resolve)) }
  t.teardown(() => (server.listening ? cut() : undefined))
  return { address: `127.0.0.1:${relayPort}`, cut, restore }
}

const ADMIN = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`

tap.test('with Cassandra away the session endpoints answer 503, other routes keep working, and sessions recover when it is back',
  { skip: await cassandraSkipReason() }, async (t) => {
    const env = (await cassandraFor(t))!
    const link = await relay(t, env.CASSANDRA_CONTACT_POINTS)
    const app = await build(t, { config: { ...env, CASSANDRA_CONTACT_POINTS: link.address } })
    t.equal((await app.inject('/end_players_events/p')).statusCode, 200)
    const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt as string
    await link.cut()
    const unavailable = { message: 'a backing service is unavailable, try again shortly', code: 'PLAYFIELD_UNAVAILABLE' }
    const event = { event: 'start', player_id: 'p', session_id: 's', ts: new Date().toISOString(), country: 'FI' }
    const put = await app.inject({ method: 'POST', url: '/put_events', payload: [event] })
    t.equal(put.statusCode, 503)
    t.same(put.json(), unavailable)
    const done = await app.inject('/end_players_events/p')
    t.equal(done.statusCode, 503)
    t.same(done.json(), unavailable)
    t.equal((await app.inject('/start_players_events/1')).statusCode, 503)
    t.equal((await app.inject('/health/live')).statusCode, 200)
    // Other domains don't need Cassandra: a JWT-authenticated read of the leaderboard (Redis) still answers.
    const board = await app.inject({ url: '/leaderboard', headers: { authorization: `Bearer ${jwt}` } })
    t.equal(board.statusCode, 200, 'GET /leaderboard while Cassandra is away')

    // Cassandra stays away for a while (the driver's reconnection delay grows meanwhile), then comes back.
    await sleep(3000)
    await link.restore()
    const back = Date.now()
    let status = 0
    while (Date.now() - back < 15_000) {
      status = (await app.inject('/end_players_events/p')).statusCode
      if (status === 200) break
      await sleep(100)
    }
    const recoveredMs = Date.now() - back
    t.equal(status, 200, `session endpoints answer again ${recoveredMs} ms after Cassandra is back`)
    // Reconnection attempts are at most 2 s apart; the rest is slack for a loaded machine.
    t.ok(recoveredMs < 8000, `recovered within 8 s (${recoveredMs} ms)`)
    const again = await app.inject({ method: 'POST', url: '/put_events', payload: [event] })
    t.equal(again.statusCode, 200)
    t.same(again.json(), { accepted: 1, duplicates: 0, rejected: [] })
    const window = await app.inject('/start_players_events/1')
    t.equal(window.statusCode, 200)
    t.equal(window.json().total, 1)
    // Closed before the relay goes (teardown): cut under a closing client, the driver's reconnection timer can
    // outlive its shutdown and keep the process alive.
    await app.close()
  })
