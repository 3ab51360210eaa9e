import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import t from 'tap'
import { Client, credentials, Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js'
import type { FastifyInstance } from 'fastify'
import { Health, LeaderBoard } from '../../src/grpc/contract.js'
import { decodeRichStatus, STATUS_DETAILS_KEY, type RichStatus } from '../../src/grpc/rich-status.js'
import type { LeaderBoardClient } from '../../src/grpc/generated/leaderboard/LeaderBoard.js'
import type { GetLeaderBoard } from '../../src/grpc/generated/leaderboard/GetLeaderBoard.js'
import type { LeaderBoardResponse__Output as PageOut } from '../../src/grpc/generated/leaderboard/LeaderBoardResponse.js'
import { deadline, grpcClient } from '../helpers/app.js'
import { buildClean } from '../helpers/leaderboard.js'

// The original leaderboard contract and the gRPC rich error model: every failed call carries a google.rpc.Status
// in grpc-status-details-bin whose code and message equal the call's grpc-status / grpc-message (what standard
// readers such as Python's grpc_status.rpc_status.from_call insist on), with ErrorInfo and, for bad input,
// BadRequest.FieldViolations.

type Test = import('tap').Test
const identity = (b: Buffer) => b

/** What a standard reader does: the rich status of a failed call; refused when its code or message differ. */
function fromCall (t: Test, err: { code: number, details: string, metadata: Metadata }): RichStatus {
  const raw = err.metadata.get(STATUS_DETAILS_KEY)
  t.equal(raw.length, 1, `${status[err.code]} carries one ${STATUS_DETAILS_KEY}`)
  const rich = decodeRichStatus(raw[0] as Buffer)
  t.equal(rich.code, err.code, 'rich status code = grpc-status')
  t.equal(rich.message, err.details, 'rich status message = grpc-message')
  t.equal(rich.detailTypes[0], 'type.googleapis.com/google.rpc.ErrorInfo', 'first detail is an ErrorInfo')
  t.equal(rich.errorInfo?.domain, 'playfield')
  t.match(rich.errorInfo?.reason, /^[A-Z][A-Z0-9_]+$/, 'reason is UPPER_SNAKE_CASE')
  return rich
}

async function setup (t: Test) {
  const app = await buildClean(t, { config: { SHAPES_SIGNATURE: 'sig-for-tests' } })
  const client = grpcClient<LeaderBoardClient>(t, app, LeaderBoard)
  const md = new Metadata()
  md.set('authorization', `Bearer ${await app.auth.issueToken('admin')}`)
  await app.leaderboard.submit([{ name: 'kiki', score: 30 }, { name: 'sava', score: 20 }, { name: 'tuta', score: 10 }])
  return { app, client, md }
}

function getPage (client: LeaderBoardClient, md: Metadata, req: GetLeaderBoard): Promise<PageOut> {
  return new Promise((resolve, reject) => {
    client.GetLeaderBoardPages(req, md, { deadline: deadline() }, (err, res) => err ? reject(err) : resolve(res!))
  })
}

async function failure (promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise
  } catch (err) {
    return err as ServiceError
  }
  throw new Error('the call succeeded')
}

t.test('GetLeaderBoardPages: a page out of range is INVALID_ARGUMENT "page" with a FieldViolation explaining it', async (t) => {
  const { client, md } = await setup(t)
  const err = await failure(getPage(client, md, { page: 99 }))
  t.equal(err.code, status.INVALID_ARGUMENT)
  t.equal(err.details, 'page')
  const rich = fromCall(t, err)
  t.same(rich.errorInfo, { reason: 'PAGE_OUT_OF_RANGE', domain: 'playfield', metadata: {} })
  t.same(rich.fieldViolations, [
    { field: 'page', description: 'page 99 is past the last page (1) of the all-time board', reason: 'PAGE_OUT_OF_RANGE' }
  ])
})

t.test('GetLeaderBoardPages: an unknown player is INVALID_ARGUMENT "name" (no longer NOT_FOUND)', async (t) => {
  const { client, md } = await setup(t)
  const err = await failure(getPage(client, md, { page: 1, name: 'ghost', option: 'LAST_30_DAYS' }))
  t.equal(err.code, status.INVALID_ARGUMENT)
  t.equal(err.details, 'name')
  const rich = fromCall(t, err)
  t.equal(rich.errorInfo?.reason, 'PLAYER_NOT_ON_BOARD')
  t.same(rich.fieldViolations, [
    { field: 'name', description: 'player "ghost" is not on the last-30-days board', reason: 'PLAYER_NOT_ON_BOARD' }
  ])
  // A known name still answers.
  t.equal((await getPage(client, md, { page: 1, name: 'sava' })).total, 3)
})

t.test('other bad input names its field: an over-long board and name', async (t) => {
  const { client, md } = await setup(t)
  const board = await failure(getPage(client, md, { board: 'no spaces allowed' }))
  t.equal(board.code, status.INVALID_ARGUMENT)
  t.same(fromCall(t, board).fieldViolations.map(v => [v.field, v.description]),
    [['board', 'board must be 1-64 of A-Z a-z 0-9 _ . -']])
  const name = await failure(getPage(client, md, { name: 'x'.repeat(200) }))
  t.same(fromCall(t, name).fieldViolations.map(v => v.field), ['name'])
})

/** One unary or streaming call with raw bytes and no credentials; resolves with its status. */
function rawCall (app: FastifyInstance, path: string, payload: Buffer, md = new Metadata()): Promise<StatusObject> {
  const client = new Client(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure())
  return new Promise<StatusObject>((resolve) => {
    const stream = client.makeBidiStreamRequest(path, identity, identity, md, { deadline: deadline() })
    stream.on('data', () => {})
    stream.on('error', () => {})
    stream.on('status', (s: StatusObject) => resolve(s))
    stream.write(payload)
    stream.end()
  }).finally(() => client.close())
}

t.test('every method of every service answers a call without credentials with a matching rich status', async (t) => {
  const { app } = await setup(t)
  const methods = app.grpc.methods()
  t.same([...new Set(methods.map(m => m.service))].sort(), ['ShapeService', 'Users', 'leaderboard.LeaderBoard'])
  for (const { path } of methods) {
    // An empty message is a valid encoding of every request type (all fields default).
    const s = await rawCall(app, path, Buffer.alloc(0))
    t.equal(s.code, status.UNAUTHENTICATED, `${path} → UNAUTHENTICATED`)
    const rich = fromCall(t, s)
    t.ok(rich.errorInfo?.reason, `${path}: ErrorInfo reason ${rich.errorInfo?.reason}`)
    t.same(rich.fieldViolations, [], `${path}: no field violations for missing credentials`)
  }
  const shapes = await rawCall(app, '/ShapeService/GetShape', Buffer.alloc(0))
  t.equal(shapes.details, 'missing metadata "x-signature"')
  t.equal(fromCall(t, shapes).errorInfo?.reason, 'PLAYFIELD_UNAUTHENTICATED')
})

t.test('statuses made outside the handlers get one too: malformed bytes, health of an unknown service', async (t) => {
  const { app, md } = await setup(t)
  const malformed = await rawCall(app, '/leaderboard.LeaderBoard/GetLeaderBoardPages', Buffer.from([0x0f]), md)
  t.equal(malformed.code, status.INVALID_ARGUMENT)
  t.equal(fromCall(t, malformed).errorInfo?.reason, 'PLAYFIELD_INVALID_ARGUMENT')

  const health = grpcClient<Client & {
    Check (req: object, opts: object, cb: (err: ServiceError | null) => void): void
  }>(t, app, Health)
  const err = await failure(new Promise<void>((resolve, reject) => {
    health.Check({ service: 'no.such.Service' }, { deadline: deadline() }, (e) => e ? reject(e) : resolve())
  }))
  t.equal(err.code, status.NOT_FOUND)
  t.equal(fromCall(t, err).errorInfo?.reason, 'PLAYFIELD_NOT_FOUND')
})

t.test("the original REST gateway's mapping (INVALID_ARGUMENT → 400, anything else → 500) answers 400 for page and name", async (t) => {
  const { client, md } = await setup(t)
  // A stand-in for the original gateway, a real HTTP server in front of the gRPC door: it reads the rich status
  // the way the standard readers do (refusing one that disagrees with the call) and maps only INVALID_ARGUMENT
  // to 400, as it did; everything else became a 500.
  const gateway = createServer((req: IncomingMessage, res: ServerResponse) => {
    const q = new URL(req.url ?? '/', 'http://gateway').searchParams
    const send = (code: number, body: object) => { res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
    getPage(client, md, { page: Number(q.get('page') ?? 0), name: q.get('name') ?? '' }).then(
      (page) => send(200, page),
      (err: ServiceError) => {
        const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0]
        const rich = raw instanceof Buffer ? decodeRichStatus(raw) : undefined
        if (!rich || rich.code !== err.code || rich.message !== err.details) return send(500, { error: 'no usable rich status' })
        if (err.code !== status.INVALID_ARGUMENT) return send(500, { error: err.details })
        send(400, { error: rich.message, violations: rich.fieldViolations.map(v => v.field) })
      })
  })
  gateway.listen(0, '127.0.0.1')
  await once(gateway, 'listening')
  t.teardown(() => { gateway.close() })
  const { port } = gateway.address() as { port: number }
  const get = async (qs: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/leaderboard?${qs}`)
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  t.same(await get('page=7'), { status: 400, body: { error: 'page', violations: ['page'] } })
  t.same(await get('page=1&name=ghost'), { status: 400, body: { error: 'name', violations: ['name'] } })
  const ok = await get('page=1')
  t.equal(ok.status, 200)
  t.same((ok.body.results as Array<{ name: string }>).map(r => r.name), ['kiki', 'sava', 'tuta'])
})
