import t from 'tap'
import { Metadata } from '@grpc/grpc-js'
import { allKeys, build, deadline, grpcClient } from '../helpers/app.js'
import { perKey } from '../../src/plugins/infra/gather.js'
import { ShapeService } from '../../src/grpc/contract.js'
import { area } from '../../src/plugins/shapes/geometry.js'
import { freshApp, ingestIdle, sendStream, user, usersClient } from '../helpers/users.js'

// Issue #17, bounded memory per call: an ingest call's de-duplication table is a bounded window, and GetTotalArea
// answers any number of ids while keeping only a bounded list of them.

t.test('the ingest de-duplication table is a bounded window (USERS_DEDUP_WINDOW); forgotten repeats store nothing twice',
  async (t) => {
    const app = await freshApp(t, { config: { USERS_REQUIRE_AUTH: 'false', USERS_DEDUP_WINDOW: '5' } })
    const records = [
      ...Array.from({ length: 10 }, (_, i) => user(i)),
      user(9), // seen a moment ago: inside the window, skipped
      user(0) // seen 10 emails ago: the window forgot it, so it is queued again
    ]
    const reply = await sendStream(usersClient(t, app), records)
    t.equal(reply.received, 12)
    t.equal(reply.duplicates, 1, 'only the repeat inside the window is recognised')
    t.equal(reply.accepted, 11)
    await ingestIdle(app)
    const stats = await app.users.stats()
    t.equal(stats.stored, 10)
    t.equal(stats.inserted, 10)
    t.equal(stats.unchanged, 1, 'the forgotten repeat was stored as unchanged, not twice')
    t.equal((await app.users.get('user0@example.com')).user_name, 'user0')
  })

t.test('GetTotalArea sums every id but lists at most SHAPES_TOTAL_AREA_MAX_IDS of each kind', async (t) => {
  const app = await build(t, { config: { SHAPES_SIGNATURE: 'sig-for-bounds', SHAPES_TOTAL_AREA_MAX_IDS: '10' } })
  await perKey(app.redis, await allKeys(app.redis, 'shapes:*'), (pipeline, key) => { pipeline.del(key) })
  const stub = grpcClient<any>(t, app, ShapeService)
  const md = () => { const m = new Metadata(); m.set('x-signature', 'sig-for-bounds'); return m }
  const created = await new Promise<any>((resolve, reject) => {
    stub.CreateShape({ shape_type: 'Triangle' }, md(), { deadline: deadline() },
      (err: Error | null, res: unknown) => err ? reject(err) : resolve(res))
  })
  const id = created.shape.shape_id as string
  const answer = await new Promise<any>((resolve, reject) => {
    const call = stub.GetTotalArea(md(), { deadline: deadline(20_000) },
      (err: Error | null, res: unknown) => err ? reject(err) : resolve(res))
    for (let i = 0; i < 5000; i++) call.write({ shape_id: i % 2 === 0 ? id : `Z-${i}` })
    call.end()
  })
  t.equal(answer.status_code, 'OK')
  t.equal(answer.valid_ids.length, 10)
  t.equal(answer.invalid_ids.length, 10)
  t.equal(answer.message, 'total area of 2500 shape(s) (2500 valid and 2500 invalid ids; the lists hold the first 10 of each)')
  const one = await new Promise<any>((resolve, reject) => {
    stub.GetShape({ shape_id: id }, md(), { deadline: deadline() },
      (err: Error | null, res: unknown) => err ? reject(err) : resolve(res))
  })
  const coords = (one.shape.coords as Array<{ x?: number, y?: number }>).map(c => ({ x: c.x ?? 0, y: c.y ?? 0 }))
  t.ok(Math.abs(answer.total_area - 2500 * area(coords)) < 1e-6 * answer.total_area, 'every id was summed')
})
