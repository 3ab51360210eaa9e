import t from 'tap'
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { LeaderBoard as Ctor } from '../../src/grpc/contract.js'
import type { LeaderBoardClient } from '../../src/grpc/generated/leaderboard/LeaderBoard.js'
import { build, deadline, grpcClient } from '../helpers/app.js'

// Findings: anyone could lock the admin out (~11 wrong logins a minute for its name); no per-address limit on gRPC
// AuthenticateUser or the Basic-auth paths; logins could exhaust the CPU (unbounded scrypt); slow parsing of long
// Basic headers. Each test uses its own account names and addresses: the file's Redis is shared by its tests.

const b64 = (s: string) => Buffer.from(s).toString('base64')
const basic = (user: string, password: string) => `Basic ${b64(`${user}:${password}`)}`

function grpcLogin (client: LeaderBoardClient, data: string): Promise<ServiceError | null> {
  return new Promise(resolve => {
    client.AuthenticateUser({ data }, { deadline: deadline(20_000) }, (err) => resolve(err))
  })
}

t.test('wrong logins for the admin from one address do not lock the admin out elsewhere', async (t) => {
  const app = await build(t)
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)
  const codes: number[] = []
  for (let i = 0; i < 13; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.20.0.1', headers: { authorization: basic('admin', `guess-${i}-x`) } })
    codes.push(res.statusCode)
  }
  t.same(codes, [...Array(10).fill(401), 429, 429, 429], 'the guessing address is stopped after LOGIN_MAX_FAILURES_PER_CLIENT')
  const right = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.20.0.1', headers: { authorization: basic('admin', 'admin-password') } })
  t.equal(right.statusCode, 429, 'even the right password is refused from the guessing address for the window')
  const owner = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.20.9.9', headers: { authorization: basic('admin', 'admin-password') } })
  t.equal(owner.statusCode, 200, 'the admin logs in over REST from its own address')
  t.equal(await grpcLogin(client, b64('admin:admin-password')), null, 'and over gRPC')
})

t.test('guesses spread over many addresses trip a per-account backoff that trusted addresses pass', async (t) => {
  const app = await build(t, { config: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '5' } })
  await app.auth.createAccount('spread', 'spread-password')
  const login = (address: string, password: string) =>
    app.inject({ method: 'POST', url: '/auth', remoteAddress: address, headers: { authorization: basic('spread', password) } })
  t.equal((await login('10.21.0.100', 'spread-password')).statusCode, 200, 'the owner logs in from home (now trusted)')
  const codes: number[] = []
  for (let i = 0; i < 8; i++) codes.push((await login(`10.21.1.${i}`, `guess-${i}-x`)).statusCode)
  t.same(codes, [401, 401, 401, 401, 401, 429, 429, 429], 'one guess per address, stopped past the account limit')
  const stranger = await login('10.21.2.1', 'spread-password')
  t.equal(stranger.statusCode, 429, 'a new address is refused while the account is under attack')
  t.match(stranger.json().message, /only addresses it recently logged in from/)
  t.equal((await login('10.21.0.100', 'spread-password')).statusCode, 200, 'the owner from its trusted address is not')
})

t.test('gRPC AuthenticateUser is limited per (account, address) and per address, with the same counters as REST', async (t) => {
  const app = await build(t, { config: { LOGIN_MAX_FAILURES_PER_IP: '14' } })
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)
  await app.auth.createAccount('grpcuser', 'grpc-password')
  const codes: number[] = []
  for (let i = 0; i < 11; i++) codes.push((await grpcLogin(client, b64(`grpcuser:guess-${i}-x`)))?.code ?? 0)
  t.same(codes, [...Array(10).fill(status.UNAUTHENTICATED), status.RESOURCE_EXHAUSTED], 'per (account, address)')
  // 11 failures so far from 127.0.0.1; the per-address limit (14) counts REST and gRPC alike.
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '127.0.0.1', headers: { authorization: basic(`spray${i}`, 'Summer2026!') } })
    t.equal(res.statusCode, 401, `REST spray ${i} from the same address`)
  }
  const sprayed = await grpcLogin(client, b64('spray9:Summer2026!'))
  t.equal(sprayed?.code, status.RESOURCE_EXHAUSTED, 'then gRPC from that address is refused for any account')
  t.match(sprayed?.details, /too many failed logins from this address/)
  const dashboard = await app.inject({ url: '/admin/queues', remoteAddress: '127.0.0.1', headers: { authorization: basic('other', 'whatever-1') } })
  t.equal(dashboard.statusCode, 429, 'and the dashboard\'s Basic login too')
})

t.test('password hashing runs with bounded concurrency: excess logins get 503 at once', async (t) => {
  const app = await build(t, { config: { SCRYPT_MAX_CONCURRENT: '1', SCRYPT_MAX_WAITING: '1' } })
  const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => app.inject({
    method: 'POST', url: '/auth', remoteAddress: `10.23.0.${i}`, headers: { authorization: basic(`busy${i}`, 'whatever-1') }
  }).then(res => ({ status: res.statusCode, code: res.json().code }))))
  const refused = codes.filter(c => c.status === 503)
  t.ok(refused.length > 0, `${refused.length} of 20 concurrent logins refused with 503`)
  t.ok(refused.every(c => c.code === 'PLAYFIELD_OVERLOADED'))
  t.ok(codes.every(c => c.status === 401 || c.status === 503), 'the others are checked normally (401)')
  t.ok(codes.filter(c => c.status === 401).length >= 2, 'at least the one running and the one waiting are checked')
})

t.test('a 15 KB Basic header is refused before parsing, naming the limit, on both doors', async (t) => {
  const app = await build(t)
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)
  const huge = 'Basic ' + b64('admin:' + 'x'.repeat(11_000))
  const rest = await app.inject({ method: 'POST', url: '/auth', remoteAddress: '10.24.0.1', headers: { authorization: huge } })
  t.equal(rest.statusCode, 401)
  t.match(rest.json().message, /longer than 1056 characters/)
  const grpc = await grpcLogin(client, b64('admin:' + 'x'.repeat(11_000)))
  t.equal(grpc?.code, status.UNAUTHENTICATED)
  t.match(grpc?.details, /longer than 1024 characters/)
})

t.test('behind a trusted proxy the limits count the forwarded client address; otherwise X-Forwarded-For is ignored', async (t) => {
  const proxied = await build(t, { config: { TRUST_PROXY: '127.0.0.1' } })
  const client = grpcClient<LeaderBoardClient>(t, proxied, Ctor)
  await proxied.auth.createAccount('proxied', 'proxied-password')
  const login = (app: typeof proxied, xff: string, password: string) => app.inject({
    method: 'POST', url: '/auth', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': xff, authorization: basic('proxied', password) }
  })
  const codes: number[] = []
  for (let i = 0; i < 11; i++) codes.push((await login(proxied, '203.0.113.5', `guess-${i}-x`)).statusCode)
  t.same(codes, [...Array(10).fill(401), 429], 'the guessing client behind the proxy is stopped')
  t.equal((await login(proxied, '203.0.113.9', 'proxied-password')).statusCode, 200, 'another client behind the same proxy is not')
  const md = new Metadata()
  md.set('x-forwarded-for', '203.0.113.5')
  const viaGrpc = await new Promise<ServiceError | null>(resolve => {
    client.AuthenticateUser({ data: b64('proxied:proxied-password') }, md, { deadline: deadline(20_000) }, (err) => resolve(err))
  })
  t.equal(viaGrpc?.code, status.RESOURCE_EXHAUSTED, 'gRPC counts the same forwarded address')

  const direct = await build(t)
  await direct.auth.createAccount('direct', 'direct-password')
  const spoofed: number[] = []
  for (let i = 0; i < 11; i++) {
    const res = await direct.inject({
      method: 'POST', url: '/auth', remoteAddress: '10.25.0.1', headers: { 'x-forwarded-for': `198.51.100.${i}`, authorization: basic('direct', `guess-${i}-x`) }
    })
    spoofed.push(res.statusCode)
  }
  t.same(spoofed, [...Array(10).fill(401), 429], 'without TRUST_PROXY a forged X-Forwarded-For does not escape the limit')
})
