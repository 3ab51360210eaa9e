import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import type { FastifyInstance } from 'fastify'
import { allKeys, build, deadline, grpcClient, tempDir } from '../helpers/app.js'
import { perKey } from '../../src/plugins/infra/gather.js'
import { makeCerts } from './certs.js'
import { Health as HealthClient, ShapeService } from '../../src/grpc/contract.js'
import { createShapesClient, type ShapesClientOptions } from '../../src/cli/shapes.js'
import { area, perimeter, type Coord } from '../../src/plugins/shapes/geometry.js'

type Test = import('tap').Test

const certs = await makeCerts(await tempDir(t, 'playfield-shapes-tls-'))
const SIGNATURE = 'test-shapes-signature'

async function tlsApp (t: Test, config: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await build(t, {
    config: { GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: certs.serverKey, SHAPES_SIGNATURE: SIGNATURE, ...config }
  })
  // The file's private Redis (or cluster) is shared by its tests: each starts from empty so ids are predictable.
  await perKey(app.redis, await allKeys(app.redis), (pipeline, key) => { pipeline.del(key) })
  return app
}

const tlsCreds = () => credentials.createSsl(readFileSync(certs.ca))

/** A raw ShapeService stub (no retries, no health checks) for asserting exact wire behaviour. */
function rawClient (t: Test, app: FastifyInstance, creds = tlsCreds(), options: Record<string, unknown> = {}): any {
  return grpcClient(t, app, ShapeService, creds, options)
}

function client (t: Test, app: FastifyInstance, opts: Partial<ShapesClientOptions> = {}) {
  const c = createShapesClient({
    address: `127.0.0.1:${app.grpc.port}`, caFile: certs.ca, signature: SIGNATURE, healthCheckDelayMs: 50, ...opts
  })
  t.teardown(() => c.close())
  return c
}

function signed (signature: string | null = SIGNATURE, extra: Record<string, string> = {}): Metadata {
  const md = new Metadata()
  if (signature !== null) md.set('x-signature', signature)
  for (const [k, v] of Object.entries(extra)) md.set(k, v)
  return md
}

function unary (stub: any, method: string, request: object, md = signed()): Promise<any> {
  return new Promise((resolve, reject) => {
    stub[method](request, md, { deadline: deadline() }, (err: ServiceError | null, res: any) => {
      if (err) reject(err)
      else resolve(res)
    })
  })
}

async function collect<T> (items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

const coordsOf = (shape: { coords: Array<{ x?: number, y?: number }> }): Coord[] =>
  shape.coords.map(c => ({ x: c.x ?? 0, y: c.y ?? 0 }))

t.test('CreateShape over TLS numbers each type from 0, accepts any case and refuses unknown types in the payload', async (t) => {
  const app = await tlsApp(t)
  const c = client(t, app)
  const created = []
  for (const type of ['triangle', 'RECTANGLE', 'Pentagon', 'tRiAnGlE']) created.push(await c.createShape(type))
  t.same(created.map(r => [r.status_code, r.shape?.shape_id, r.shape?.shape_type]), [
    ['OK', 'T-0', 'Triangle'], ['OK', 'R-0', 'Rectangle'], ['OK', 'P-0', 'Pentagon'], ['OK', 'T-1', 'Triangle']
  ])
  t.same(created.map(r => r.shape?.coords.length), [3, 4, 5, 3])
  const bad = await c.createShape('hexagon')
  t.equal(bad.status_code, 'INVALID_SHAPE')
  t.match(bad.message, /hexagon.*Triangle, Rectangle, Pentagon/)
  t.notOk(bad.shape, 'no shape with an error')
})

t.test('GetShape returns the stored shape, INVALID_SHAPE_ID for empty or malformed ids, SHAPE_NOT_FOUND otherwise', async (t) => {
  const app = await tlsApp(t)
  const c = client(t, app)
  const created = await c.createShape('Rectangle')
  const got = await c.getShape('R-0')
  t.equal(got.status_code, 'OK')
  t.same(got.shape, created.shape)
  for (const id of ['', 'X-1', 'R-', 'R-01', 'r-0', 'R-1a', 'R--1']) {
    t.equal((await c.getShape(id)).status_code, 'INVALID_SHAPE_ID', `"${id}" is malformed`)
  }
  t.equal((await c.getShape('R-1')).status_code, 'SHAPE_NOT_FOUND')
  t.equal((await c.getShape('T-0')).status_code, 'SHAPE_NOT_FOUND')
})

t.test('GetPerimetersGreaterThan streams every shape strictly above the minimum in ascending order', async (t) => {
  const app = await tlsApp(t)
  const c = client(t, app)
  const shapes = []
  for (let i = 0; i < 30; i++) shapes.push((await c.createShape(['Triangle', 'Rectangle', 'Pentagon'][i % 3]!)).shape!)
  const perimeters = shapes.map(s => ({ id: s.shape_id, p: perimeter(coordsOf(s)) })).sort((a, b) => a.p - b.p)
  const pivot = perimeters[10]!.p
  const expected = perimeters.filter(x => x.p > pivot)

  const answers = await collect(c.perimeters(pivot))
  t.same(answers.map(a => a.status_code), expected.map(() => 'OK'))
  t.same(answers.map(a => a.shape?.shape_id), expected.map(x => x.id), 'ids in ascending perimeter order')
  t.same(answers.map(a => a.perimeter), expected.map(x => x.p))
  t.notOk(answers.some(a => a.perimeter! <= pivot), 'a shape exactly at the minimum is excluded')

  const all = await collect(c.perimeters(0))
  t.equal(all.length, 30)

  const negative = await collect(c.perimeters(-0.5))
  t.same(negative.map(a => a.status_code), ['INVALID_PERIMETER'])
  const none = await collect(c.perimeters(1e9))
  t.same(none.map(a => a.status_code), ['SHAPE_NOT_FOUND'])
})

t.test('GetTotalArea sums the known ids and lists valid and invalid ids; nothing known is AREA_NOT_FOUND', async (t) => {
  const app = await tlsApp(t)
  const c = client(t, app)
  const a = (await c.createShape('Triangle')).shape!
  const b = (await c.createShape('Pentagon')).shape!
  const expected = area(coordsOf(a)) * 2 + area(coordsOf(b))
  const res = await c.totalArea(['T-0', 'bogus', 'P-0', 'R-7', 'T-0'])
  t.equal(res.status_code, 'OK')
  t.equal(res.total_area, expected, 'an id sent twice counts twice')
  t.same(res.valid_ids.map(i => i.shape_id), ['T-0', 'P-0', 'T-0'])
  t.same(res.invalid_ids.map(i => i.shape_id), ['bogus', 'R-7'])
  t.equal(b.shape_id, 'P-0')

  const unknown = await c.totalArea(['R-7', ''])
  t.equal(unknown.status_code, 'AREA_NOT_FOUND')
  t.same(unknown.invalid_ids.map(i => i.shape_id), ['R-7', ''])
  const empty = await c.totalArea([])
  t.equal(empty.status_code, 'AREA_NOT_FOUND')
  t.same([empty.valid_ids, empty.invalid_ids], [[], []])
})

t.test('GetAreas answers each id in order, as soon as it arrives', async (t) => {
  const app = await tlsApp(t)
  const c = client(t, app)
  const tri = (await c.createShape('Triangle')).shape!
  const rect = (await c.createShape('Rectangle')).shape!
  const stub = rawClient(t, app)
  const call = stub.GetAreas(signed(), { deadline: deadline() })
  const answers: any[] = []
  const next = () => new Promise<any>((resolve) => call.once('data', resolve))
  // One id at a time: each answer arrives before the next id is even sent.
  for (const id of ['R-0', 'nope', 'T-0', 'T-9']) {
    const answer = next()
    call.write({ shape_id: id })
    answers.push(await answer)
  }
  call.end()
  await new Promise((resolve) => call.on('status', resolve))
  t.same(answers.map(a => [a.status_code, a.shape?.shape_id ?? null]), [
    ['OK', 'R-0'], ['INVALID_SHAPE_ID', null], ['OK', 'T-0'], ['SHAPE_NOT_FOUND', null]
  ])
  t.equal(answers[0].area, area(coordsOf(rect)))
  t.equal(answers[2].area, area(coordsOf(tri)))
})

t.test('ShapeService calls without or with a wrong x-signature fail with UNAUTHENTICATED; health needs none', async (t) => {
  const app = await tlsApp(t)
  const stub = rawClient(t, app)
  await t.rejects(unary(stub, 'CreateShape', { shape_type: 'Triangle' }, signed(null)),
    { code: status.UNAUTHENTICATED, details: 'missing metadata "x-signature"' })
  await t.rejects(unary(stub, 'GetShape', { shape_id: 'T-0' }, signed('wrong')),
    { code: status.UNAUTHENTICATED, details: 'invalid "x-signature"' })
  await t.rejects(unary(stub, 'CreateShape', { shape_type: 'Triangle' }, signed(SIGNATURE + 'x')), { code: status.UNAUTHENTICATED })

  const stream = stub.GetPerimetersGreaterThan({ min_perimeter: 0 }, signed('wrong'), { deadline: deadline() })
  stream.on('data', () => {})
  const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve))
  t.equal(err.code, status.UNAUTHENTICATED)

  t.equal(await app.redis.exists('shapes:seq:T'), 0, 'a refused create wrote nothing')
  const health: any = grpcClient(t, app, HealthClient, tlsCreds())
  const res = await new Promise<any>((resolve, reject) => health.check({ service: 'ShapeService' }, new Metadata(), { deadline: deadline() },
    (e: Error | null, r: unknown) => e ? reject(e) : resolve(r)))
  t.equal(res.status, 'SERVING')
})

t.test('the x-correlation-id sent is echoed in the response metadata, x-method-type is accepted', async (t) => {
  const app = await tlsApp(t)
  const stub = rawClient(t, app)
  const md = signed(SIGNATURE, { 'x-correlation-id': 'shapes-corr-1', 'x-method-type': 'unary' })
  const echoed = await new Promise<Metadata>((resolve, reject) => {
    const call = stub.CreateShape({ shape_type: 'Pentagon' }, md, { deadline: deadline() }, (err: Error | null) => { if (err) reject(err) })
    call.on('metadata', resolve)
  })
  t.same(echoed.get('x-correlation-id'), ['shapes-corr-1'])
  const minted = await new Promise<Metadata>((resolve, reject) => {
    const call = stub.GetShape({ shape_id: 'P-0' }, signed(), { deadline: deadline() }, (err: Error | null) => { if (err) reject(err) })
    call.on('metadata', resolve)
  })
  t.match(String(minted.get('x-correlation-id')[0]), /^[0-9a-f-]{36}$/)
})

t.test('50 concurrent CreateShape calls get 50 distinct ids', async (t) => {
  const app = await tlsApp(t)
  const stub = rawClient(t, app)
  const answers = await Promise.all(Array.from({ length: 50 }, () => unary(stub, 'CreateShape', { shape_type: 'Triangle' })))
  const ids = answers.map(a => a.shape.shape_id)
  t.equal(new Set(ids).size, 50)
  t.same([...ids].sort(), Array.from({ length: 50 }, (_, i) => `T-${i}`).sort())
  t.equal(await app.redis.zcard('shapes:by_perimeter'), 50)
})

t.test('cancelling GetPerimetersGreaterThan stops the server reading from Redis', async (t) => {
  const app = await tlsApp(t)
  const total = 4000
  for (let i = 0; i < total; i += 200) {
    await Promise.all(Array.from({ length: 200 }, () => app.shapes.create('Rectangle')))
  }
  // Observe the server side: how many results the handler pulled, and whether it let go of the generator.
  const original = app.shapes.perimetersGreaterThan
  let pulled = 0
  let released!: () => void
  const finished = new Promise<void>((resolve) => { released = resolve })
  app.shapes.perimetersGreaterThan = async function * (min: number) {
    try {
      for await (const r of original(min)) {
        pulled++
        yield r
      }
    } finally {
      released()
    }
  }
  const stub = rawClient(t, app)
  const call = stub.GetPerimetersGreaterThan({ min_perimeter: 0 }, signed(), { deadline: deadline(10000) })
  const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve))
  await new Promise((resolve) => call.once('data', resolve))
  call.pause()
  // With the client not reading, backpressure holds the server; then the client walks away.
  let before = -1
  while (before !== pulled) { before = pulled; await sleep(100) }
  call.cancel()
  t.equal((await ended).code, status.CANCELLED)
  await finished
  t.ok(pulled < total, `the server stopped after ${pulled} of ${total} shapes`)
})

t.test('the client retry policy rides through injected UNAVAILABLE failures', async (t) => {
  const app = await tlsApp(t, { SHAPES_CHAOS_FAILURE_COUNT: '2' })
  const c = client(t, app)
  const res = await c.createShape('Triangle')
  t.equal(res.status_code, 'OK')
  t.equal(res.shape?.shape_id, 'T-0', 'the two failed attempts created nothing')
  t.equal((await c.createShape('Triangle')).shape?.shape_id, 'T-1', 'later calls pass')
})

t.test('without a retry policy the injected failure reaches the caller as UNAVAILABLE', async (t) => {
  const app = await tlsApp(t, { SHAPES_CHAOS_FAILURE_COUNT: '2' })
  const stub = rawClient(t, app)
  await t.rejects(unary(stub, 'CreateShape', { shape_type: 'Triangle' }), { code: status.UNAVAILABLE })
  await t.rejects(unary(stub, 'CreateShape', { shape_type: 'Triangle' }), { code: status.UNAVAILABLE })
  t.equal((await unary(stub, 'CreateShape', { shape_type: 'Triangle' })).shape.shape_id, 'T-0')
})

t.test('a chaos rate of 1 fails every attempt and the client gives up with UNAVAILABLE', async (t) => {
  const app = await tlsApp(t, { SHAPES_CHAOS_FAILURE_RATE: '1' })
  const c = client(t, app)
  await t.rejects(c.createShape('Triangle'), { code: status.UNAVAILABLE, details: /chaos/ })
  t.equal(await app.redis.exists('shapes:seq:T'), 0)
})

t.test('health Watch on ShapeService sees SERVING, then NOT_SERVING and the end of the stream on shutdown', async (t) => {
  const app = await tlsApp(t)
  const health: any = grpcClient(t, app, HealthClient, tlsCreds())
  const seen: string[] = []
  const watch = health.watch({ service: 'ShapeService' })
  const ended = new Promise<void>((resolve) => { watch.on('end', resolve); watch.on('error', () => resolve()) })
  const first = new Promise((resolve) => watch.once('data', resolve))
  watch.on('data', (m: { status: string }) => seen.push(m.status))
  await first
  await app.close()
  await ended
  t.same(seen, ['SERVING', 'NOT_SERVING'])
})

t.test('with mutual TLS a client without a certificate is refused and one with a CA-signed certificate is served', async (t) => {
  const app = await tlsApp(t, { GRPC_TLS_CLIENT_CA: certs.ca })
  const anonymous = client(t, app, { healthCheckAttempts: 1 })
  await t.rejects(anonymous.createShape('Triangle'), { name: 'ServerDownError' })
  const withCert = client(t, app, { certFile: certs.clientCert, keyFile: certs.clientKey })
  const res = await withCert.createShape('Triangle')
  t.equal(res.shape?.shape_id, 'T-0')
})
