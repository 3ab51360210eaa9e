import type { Redis } from 'ioredis'
import {
  area, cryptoRandomInt, ID_PREFIX, kindOfId, parseShapeType, perimeter, randomCoords, SHAPE_TYPES,
  type Coord, type RandomInt, type Shape, type ShapeKind
} from './geometry.js'

// The shapes domain on Redis. Keys:
//   shapes:seq:<T|R|P>     per-type counter (INCR), so concurrent creates never share an id
//   shapes:shape:<id>      JSON { t: type, c: [[x, y], …] }
//   shapes:by_perimeter    sorted set id → perimeter, read in pages by GetPerimetersGreaterThan
//
// Application outcomes (unknown type, unknown id…) are results with a code, as the protocol carries them in the
// payload; only faults (Redis down) throw.

export type ShapeCode =
  'OK' | 'INVALID_SHAPE' | 'INVALID_PERIMETER' | 'INVALID_SHAPE_ID' | 'SHAPE_NOT_FOUND' | 'AREA_NOT_FOUND'

export interface ShapeResult { code: ShapeCode, message: string, shape?: Shape }
/** A shape with one measure (its perimeter or its area, depending on the call). */
export interface MeasureResult { code: ShapeCode, message: string, value?: number, shape?: Shape }
export interface TotalAreaResult {
  code: ShapeCode, message: string, totalArea?: number, validIds: string[], invalidIds: string[]
}

const BY_PERIMETER = 'shapes:by_perimeter'
const shapeKey = (id: string) => `shapes:shape:${id}`
const seqKey = (kind: ShapeKind) => `shapes:seq:${ID_PREFIX[kind]}`

interface StoredShape { t: ShapeKind, c: Array<[number, number]> }

function encode (shape: Shape): string {
  return JSON.stringify({ t: shape.type, c: shape.coords.map(p => [p.x, p.y]) } satisfies StoredShape)
}

function decode (id: string, raw: string): Shape {
  const doc = JSON.parse(raw) as StoredShape
  return { id, type: doc.t, coords: doc.c.map(([x, y]): Coord => ({ x, y })) }
}

export interface ShapesDeps {
  redis: Redis
  random?: RandomInt
  /** Shapes read per Redis round trip while streaming perimeters. */
  pageSize?: number
}

export function createShapes ({ redis, random = cryptoRandomInt, pageSize = 200 }: ShapesDeps) {
  function idProblem (id: string): ShapeResult | undefined {
    if (id === '') return { code: 'INVALID_SHAPE_ID', message: 'shape id is required' }
    if (!kindOfId(id)) {
      return { code: 'INVALID_SHAPE_ID', message: `invalid shape id "${id.slice(0, 64)}": expected T-<n>, R-<n> or P-<n>` }
    }
    return undefined
  }

  async function get (id: string): Promise<ShapeResult> {
    const problem = idProblem(id)
    if (problem) return problem
    const raw = await redis.get(shapeKey(id))
    if (raw === null) return { code: 'SHAPE_NOT_FOUND', message: `shape ${id} not found` }
    return { code: 'OK', message: `shape ${id} found`, shape: decode(id, raw) }
  }

  async function measureArea (id: string): Promise<MeasureResult> {
    const found = await get(id)
    if (!found.shape) return found
    return { code: 'OK', message: `area of ${id}`, value: area(found.shape.coords), shape: found.shape }
  }

  return {
    async create (shapeType: string): Promise<ShapeResult> {
      const kind = parseShapeType(shapeType)
      if (!kind) {
        return { code: 'INVALID_SHAPE', message: `invalid shape type "${shapeType.slice(0, 64)}": expected one of ${SHAPE_TYPES.join(', ')}` }
      }
      // INCR is atomic, so the counter alone decides ids; a crash between the two steps only leaves a gap.
      const n = await redis.incr(seqKey(kind)) - 1
      const shape: Shape = { id: `${ID_PREFIX[kind]}-${n}`, type: kind, coords: randomCoords(kind, random) }
      const results = await redis.multi()
        .set(shapeKey(shape.id), encode(shape))
        .zadd(BY_PERIMETER, perimeter(shape.coords), shape.id)
        .exec()
      const failed = results?.find(([err]) => err)
      if (!results || failed) throw failed?.[0] ?? new Error('shape write aborted')
      return { code: 'OK', message: `${kind} ${shape.id} created`, shape }
    },

    get,

    /**
     * Every shape whose perimeter is strictly greater than `min`, in ascending perimeter order, read from Redis one
     * page at a time as the consumer pulls (stop pulling and nothing more is read). Yields exactly one error result
     * for a negative `min` and one SHAPE_NOT_FOUND when nothing matches.
     */
    async * perimetersGreaterThan (min: number): AsyncGenerator<MeasureResult> {
      if (!(min >= 0)) {
        yield { code: 'INVALID_PERIMETER', message: `min_perimeter must be >= 0 (got ${min})` }
        return
      }
      // Cursor = (lower bound, ties already seen at that bound): shapes added below the cursor while we stream
      // can't shift the pages, unlike a plain offset.
      let lower = `(${min}`
      let skip = 0
      let found = 0
      for (;;) {
        const page = await redis.zrange(BY_PERIMETER, lower, '+inf', 'BYSCORE', 'LIMIT', skip, pageSize, 'WITHSCORES')
        if (page.length === 0) break
        const ids = page.filter((_, i) => i % 2 === 0)
        const scores = page.filter((_, i) => i % 2 === 1)
        const docs = await redis.mget(ids.map(shapeKey))
        for (let i = 0; i < ids.length; i++) {
          const raw = docs[i]
          if (raw === null || raw === undefined) continue
          found++
          yield { code: 'OK', message: `perimeter of ${ids[i]!} is greater than ${min}`, value: Number(scores[i]), shape: decode(ids[i]!, raw) }
        }
        if (ids.length < pageSize) break
        const last = scores[scores.length - 1]!
        const ties = scores.filter(s => s === last).length
        skip = lower === last ? skip + ties : ties
        lower = last
      }
      if (found === 0) yield { code: 'SHAPE_NOT_FOUND', message: `no shape has a perimeter greater than ${min}` }
    },

    /**
     * Sum of the areas of the known ids. Every occurrence counts (an id sent twice is summed twice and listed
     * twice); ids are looked up in batches while the stream is still arriving.
     */
    async totalArea (ids: AsyncIterable<string> | Iterable<string>): Promise<TotalAreaResult> {
      const validIds: string[] = []
      const invalidIds: string[] = []
      let total = 0
      let batch: string[] = []
      const flush = async () => {
        const wellFormed = batch.filter(id => !idProblem(id))
        const docs = wellFormed.length > 0 ? await redis.mget(wellFormed.map(shapeKey)) : []
        const byId = new Map(wellFormed.map((id, i) => [id, docs[i] ?? null]))
        for (const id of batch) {
          const raw = byId.get(id)
          if (raw === undefined || raw === null) {
            invalidIds.push(id)
          } else {
            validIds.push(id)
            total += area(decode(id, raw).coords)
          }
        }
        batch = []
      }
      for await (const id of ids) {
        batch.push(id)
        if (batch.length >= pageSize) await flush()
      }
      await flush()
      if (total === 0) {
        return { code: 'AREA_NOT_FOUND', message: 'no known shape among the ids, total area is 0', validIds, invalidIds }
      }
      return { code: 'OK', message: `total area of ${validIds.length} shape(s)`, totalArea: total, validIds, invalidIds }
    },

    area: measureArea,

    /** One result per incoming id, in order, each produced as soon as its id arrives. */
    async * areas (ids: AsyncIterable<string>): AsyncGenerator<MeasureResult> {
      for await (const id of ids) yield await measureArea(id)
    }
  }
}

export type ShapesService = ReturnType<typeof createShapes>
