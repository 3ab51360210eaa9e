import t from 'tap'
import { Cluster } from 'ioredis'
import { allKeys, build, redisClient } from '../../helpers/app.js'
import { keySlot, perKey } from '../../../src/plugins/infra/gather.js'
import type { RedisClient } from '../../../src/plugins/infra/lua.js'
import {
  area, cryptoRandomInt, kindOfId, parseShapeType, perimeter, randomCoords, type RandomInt, type ShapeKind
} from '../../../src/plugins/shapes/geometry.js'
import { createShapes } from '../../../src/plugins/shapes/service.js'
import { createShapesStore } from '../../../src/plugins/shapes/redis-store.js'
import { chaosGate } from '../../../src/grpc/interceptors/chaos.js'
import { signatureMatches } from '../../../src/grpc/interceptors/signature.js'

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9

/** A RandomInt that returns the given values in turn and checks each lies in the requested range. */
function scripted (values: number[], seen: Array<[number, number]> = []): RandomInt {
  return (min, max) => {
    seen.push([min, max])
    const v = values.shift()
    if (v === undefined || v < min || v > max) throw new Error(`scripted value ${v} outside ${min}..${max}`)
    return v
  }
}

/** Deletes every key of the file's Redis (one node or every master of the cluster): its tests start from empty. */
async function empty (redis: RedisClient): Promise<void> {
  await perKey(redis, await allKeys(redis), (pipeline, key) => { pipeline.del(key) })
}

async function freshRedis (t: import('tap').Test): Promise<RedisClient> {
  const redis = await redisClient(t)
  // A new cluster client knows its masters only once connected; allKeys asks each of them.
  await redis.ping()
  await empty(redis)
  return redis
}

t.test('every triangle size matches P = w + 2√(w²/4 + h²) and A = wh/2', async (t) => {
  let checked = 0
  for (let half = 1; half <= 50; half++) {
    for (let h = 1; h <= 50; h++) {
      const w = 2 * half
      const c = randomCoords('Triangle', scripted([half, h]))
      if (!close(perimeter(c), w + 2 * Math.sqrt(w * w / 4 + h * h)) || !close(area(c), w * h / 2)) {
        t.fail(`triangle w=${w} h=${h}`)
      }
      checked++
    }
  }
  t.equal(checked, 2500)
  t.same(randomCoords('Triangle', scripted([5, 7])), [{ x: 0, y: 0 }, { x: 5, y: 7 }, { x: 10, y: 0 }])
})

t.test('every rectangle size matches P = 2(w + h) and A = wh', async (t) => {
  let checked = 0
  for (let w = 1; w <= 50; w++) {
    for (let h = 1; h <= 50; h++) {
      const c = randomCoords('Rectangle', scripted([w, h]))
      if (perimeter(c) !== 2 * (w + h) || area(c) !== w * h) t.fail(`rectangle w=${w} h=${h}`)
      checked++
    }
  }
  t.equal(checked, 2500)
  t.same(randomCoords('Rectangle', scripted([3, 4])), [{ x: 0, y: 0 }, { x: 0, y: 4 }, { x: 3, y: 4 }, { x: 3, y: 0 }])
})

t.test('every pentagon size matches P = w + h + 2√(w²/4 + h²/4) and A = 3wh/4', async (t) => {
  let checked = 0
  for (let hw = 1; hw <= 50; hw++) {
    for (let hh = 1; hh <= 50; hh++) {
      const w = 2 * hw
      const h = 2 * hh
      const c = randomCoords('Pentagon', scripted([hw, hh]))
      if (!close(perimeter(c), w + h + 2 * Math.sqrt(w * w / 4 + h * h / 4)) || !close(area(c), 3 * w * h / 4)) {
        t.fail(`pentagon w=${w} h=${h}`)
      }
      checked++
    }
  }
  t.equal(checked, 2500)
  t.same(randomCoords('Pentagon', scripted([2, 3])),
    [{ x: 0, y: 0 }, { x: 0, y: 3 }, { x: 2, y: 6 }, { x: 4, y: 3 }, { x: 4, y: 0 }])
})

t.test('random shapes stay inside the original size ranges', async (t) => {
  const ranges: Record<ShapeKind, Array<[number, number]>> = { Triangle: [], Rectangle: [], Pentagon: [] }
  for (const kind of ['Triangle', 'Rectangle', 'Pentagon'] as const) {
    randomCoords(kind, scripted([1, 1], ranges[kind]))
  }
  // Even sizes are drawn as halves: 1..50 halves = even 2..100.
  t.same(ranges, { Triangle: [[1, 50], [1, 50]], Rectangle: [[1, 50], [1, 50]], Pentagon: [[1, 50], [1, 50]] })
  const seen = new Set<number>()
  for (let i = 0; i < 2000; i++) seen.add(cryptoRandomInt(1, 3))
  t.same([...seen].sort(), [1, 2, 3], 'cryptoRandomInt covers both ends inclusively')
})

t.test('shape types parse case-insensitively and ids must be T-, R- or P- with a canonical number', async (t) => {
  t.same(['triangle', ' RECTANGLE ', 'pentaGON', 'hexagon', ''].map(parseShapeType),
    ['Triangle', 'Rectangle', 'Pentagon', undefined, undefined])
  t.same(['T-0', 'R-12', 'P-3', 'T-01', 't-1', 'T-', 'X-1', 'T-1 ', 'T-1234567890123456'].map(kindOfId),
    ['Triangle', 'Rectangle', 'Pentagon', undefined, undefined, undefined, undefined, undefined, undefined])
})

t.test('perimeter paging returns every shape once even when ties straddle pages', async (t) => {
  const redis = await freshRedis(t)
  // Rectangles 1×1 (P=4) ×5, 2×1 (P=6) ×4, 3×3 (P=12) ×2, with pages of 3: ties cross page boundaries.
  const sizes: Array<[number, number]> = [...Array(5).fill([1, 1]), ...Array(4).fill([2, 1]), ...Array(2).fill([3, 3])]
  const shapes = createShapes({ store: createShapesStore(redis), random: scripted(sizes.flat()), pageSize: 3 })
  for (let i = 0; i < sizes.length; i++) await shapes.create('Rectangle')
  const all = []
  for await (const r of shapes.perimetersGreaterThan(0)) all.push(r)
  t.equal(all.length, 11)
  t.equal(new Set(all.map(r => r.shape?.id)).size, 11, 'no duplicates')
  t.same(all.map(r => r.value), [4, 4, 4, 4, 4, 6, 6, 6, 6, 12, 12])
  const above4 = []
  for await (const r of shapes.perimetersGreaterThan(4)) above4.push(r.value)
  t.same(above4, [6, 6, 6, 6, 12, 12], 'strictly greater')
})

t.test('a consumer that stops early stops the Redis paging', async (t) => {
  const redis = await freshRedis(t)
  const shapes = createShapes({ store: createShapesStore(redis), pageSize: 2 })
  for (let i = 0; i < 10; i++) await shapes.create('Pentagon')
  let pages = 0
  const zrange = redis.zrange.bind(redis)
  redis.zrange = ((...args: any[]) => { pages++; return (zrange as any)(...args) }) as any
  const stream = shapes.perimetersGreaterThan(0)
  t.equal((await stream.next()).value?.code, 'OK')
  await stream.return(undefined)
  t.equal(pages, 1)
})

t.test('GetAreas logic yields one answer per id, in order', async (t) => {
  const redis = await freshRedis(t)
  const shapes = createShapes({ store: createShapesStore(redis), random: scripted([2, 3]) })
  await shapes.create('Rectangle')
  async function * ids () { yield * ['R-0', 'R-1', '?', 'R-0'] }
  const out = []
  for await (const r of shapes.areas(ids())) out.push([r.code, r.value])
  t.same(out, [['OK', 6], ['SHAPE_NOT_FOUND', undefined], ['INVALID_SHAPE_ID', undefined], ['OK', 6]])
})

t.test('total area batches lookups and keeps the arrival order of valid and invalid ids', async (t) => {
  const redis = await freshRedis(t)
  const shapes = createShapes({ store: createShapesStore(redis), random: scripted([1, 2, 3, 4]), pageSize: 2 })
  await shapes.create('Rectangle')
  await shapes.create('Rectangle')
  const r = await shapes.totalArea(['R-1', 'x', 'R-9', 'R-0', 'R-1'])
  t.same(r, {
    code: 'OK',
    message: 'total area of 3 shape(s)',
    totalArea: 12 + 2 + 12,
    validIds: ['R-1', 'R-0', 'R-1'],
    invalidIds: ['x', 'R-9']
  })
})

t.test('shape documents spread over the masters; total area and the perimeter stream gather them', async (t) => {
  const redis = await freshRedis(t)
  const shapes = createShapes({ store: createShapesStore(redis), random: scripted(Array(60).fill(1)), pageSize: 7 })
  for (let i = 0; i < 30; i++) await shapes.create('Rectangle')
  const ids = Array.from({ length: 30 }, (_, i) => `R-${i}`)
  if (redis instanceof Cluster) {
    const masters = new Set(ids.map(id => redis.slots[keySlot(`shapes:shape:${id}`)]![0]))
    t.ok(masters.size >= 2, `the documents lie on ${masters.size} masters`)
  }
  const total = await shapes.totalArea([...ids, 'R-30'])
  t.same([total.totalArea, total.validIds, total.invalidIds], [30, ids, ['R-30']])
  const streamed = []
  for await (const r of shapes.perimetersGreaterThan(0)) streamed.push(r.shape?.id)
  t.same(streamed.sort(), [...ids].sort())
})

t.test('shapes survive a restart of the app on the same Redis', async (t) => {
  const first = await build(t)
  await empty(first.redis)
  const created = await first.shapes.create('Pentagon')
  await first.close()
  const second = await build(t)
  t.same(await second.shapes.get('P-0'), { code: 'OK', message: 'shape P-0 found', shape: created.shape })
  t.equal((await second.shapes.create('pentagon')).shape?.id, 'P-1', 'the counter carries on')
})

t.test('the chaos gate fails the first N calls, then a share of calls, and is off by default', async (t) => {
  const outcome = (gate: ReturnType<typeof chaosGate>) => {
    try { gate.check(); return 'ok' } catch (e) { return (e as Error).name }
  }
  const counted = chaosGate({ rate: 0, count: 2 })
  t.same([1, 2, 3, 4].map(() => outcome(counted)), ['UnavailableError', 'UnavailableError', 'ok', 'ok'])
  const draws = [0.1, 0.9, 0.29, 0.3]
  const rated = chaosGate({ rate: 0.3, count: 0, random: () => draws.shift()! })
  t.same([1, 2, 3, 4].map(() => outcome(rated)), ['UnavailableError', 'ok', 'UnavailableError', 'ok'])
  const off = chaosGate({ rate: 0, count: 0 })
  t.equal(off.enabled, false)
  t.equal(outcome(off), 'ok')
})

t.test('signatures compare equal only when identical, whatever their lengths', async (t) => {
  t.equal(signatureMatches('playfield-signature', 'playfield-signature'), true)
  t.equal(signatureMatches('playfield-signaturE', 'playfield-signature'), false)
  t.equal(signatureMatches('p', 'playfield-signature'), false)
  t.equal(signatureMatches('', 'playfield-signature'), false)
})
