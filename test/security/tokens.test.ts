import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { LeaderBoard as Ctor } from '../../src/grpc/contract.js'
import type { LeaderBoardClient } from '../../src/grpc/generated/leaderboard/LeaderBoard.js'
import { build, deadline, grpcClient } from '../helpers/app.js'

// Finding: tokens never expired and a JWT could not be revoked. gRPC tokens now expire (TOKEN_TTL_S); every REST JWT
// carries its account's token epoch, and POST /auth/revoke, the admin's POST /tokens/revoke and a new password bump
// it, so every JWT issued before is refused.

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

function page (client: LeaderBoardClient, token: string): Promise<ServiceError | null> {
  const md = new Metadata()
  md.set('authorization', `Bearer ${token}`)
  return new Promise(resolve => {
    client.GetLeaderBoardPages({}, md, { deadline: deadline() }, (err) => resolve(err))
  })
}

t.test('a gRPC token expires after TOKEN_TTL_S', async (t) => {
  const app = await build(t, { config: { TOKEN_TTL_S: '1' } })
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)
  await app.auth.createAccount('shortlived', 'short-password')
  const token = await app.auth.issueToken('shortlived')
  t.equal(await page(client, token), null, 'valid when issued')
  await sleep(1300)
  const err = await page(client, token)
  t.equal(err?.code, status.UNAUTHENTICATED, 'refused once expired')
})

t.test('POST /auth/revoke revokes every JWT and gRPC token of the caller; a new login works', async (t) => {
  const app = await build(t)
  const client = grpcClient<LeaderBoardClient>(t, app, Ctor)
  await app.auth.createAccount('revoker', 'revoker-password')
  const login = async () => (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic('revoker', 'revoker-password') } })).json().jwt as string
  const board = (jwt: string) => app.inject({ url: '/leaderboard', headers: { authorization: `Bearer ${jwt}` } })
  const [jwt1, jwt2] = [await login(), await login()]
  const grpcToken = await app.auth.issueToken('revoker')
  t.equal((await board(jwt1)).statusCode, 200)
  t.equal(await page(client, grpcToken), null)

  const revoked = await app.inject({ method: 'POST', url: '/auth/revoke', headers: { authorization: `Bearer ${jwt1}` } })
  t.equal(revoked.statusCode, 200)
  t.same(revoked.json(), { revoked: 1 })
  for (const jwt of [jwt1, jwt2]) {
    const res = await board(jwt)
    t.equal(res.statusCode, 401, 'a JWT issued before the revoke is refused')
    t.equal(res.json().message, 'token revoked')
  }
  t.equal((await page(client, grpcToken))?.code, status.UNAUTHENTICATED, 'the gRPC token is refused')
  t.equal((await board(await login())).statusCode, 200, 'a JWT issued after the revoke works')
})

t.test("the admin's POST /tokens/revoke and a new password revoke an account's JWTs", async (t) => {
  const app = await build(t)
  await app.auth.createAccount('victim', 'victim-password')
  const login = async (pw: string) => (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: basic('victim', pw) } })).json().jwt as string
  const board = (jwt: string) => app.inject({ url: '/leaderboard', headers: { authorization: `Bearer ${jwt}` } })
  const stolen = await login('victim-password')
  const admin = await app.inject({ method: 'POST', url: '/tokens/revoke', headers: { authorization: basic('admin', 'admin-password') }, payload: { username: 'victim' } })
  t.equal(admin.statusCode, 200)
  t.equal((await board(stolen)).statusCode, 401, 'refused after the admin revoked the account')

  const before = await login('victim-password')
  t.equal((await board(before)).statusCode, 200)
  await app.auth.createAccount('victim', 'a-new-password', { upsert: true })
  t.equal((await board(before)).statusCode, 401, 'refused after the password changed')
  t.equal((await board(await login('a-new-password'))).statusCode, 200, 'the new password logs in')
})
