import type { RedisClient } from '../infra/lua.js'
import { ID_PREFIX, type Coord, type Shape, type ShapeKind } from './geometry.js'

// The only file of the shapes domain that names keys or talks to Redis. Keys (no hash tags yet):
//   shapes:seq:<T|R|P>     string      per-type counter (INCR), so concurrent creates never share an id
//   shapes:shape:<id>      string      JSON { t: type, c: [[x, y], …] }
//   shapes:by_perimeter    sorted set  id → perimeter, read in pages by GetPerimetersGreaterThan
// Multi-key operations, which span slots on a Redis Cluster today: save (MULTI: shapes:shape:<id> and
// shapes:by_perimeter), getMany and the pages of byPerimeter (MGET of many shapes:shape:<id>).

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

export interface ShapeWithPerimeter { shape: Shape, perimeter: number }

export function createShapesStore (redis: RedisClient) {
  async function getMany (ids: string[]): Promise<Array<Shape | undefined>> {
    if (ids.length === 0) return []
    const docs = await redis.mget(ids.map(shapeKey))
    return ids.map((id, i) => {
      const raw = docs[i]
      return raw === null || raw === undefined ? undefined : decode(id, raw)
    })
  }

  return {
    /** The next number of a kind's counter: 1 for its first shape, never the same twice. */
    async nextNumber (kind: ShapeKind): Promise<number> {
      return await redis.incr(seqKey(kind))
    },

    /** Stores a shape and indexes it by perimeter, both or neither. */
    async save (shape: Shape, perimeter: number): Promise<void> {
      const results = await redis.multi()
        .set(shapeKey(shape.id), encode(shape))
        .zadd(BY_PERIMETER, perimeter, shape.id)
        .exec()
      const failed = results?.find(([err]) => err)
      if (!results || failed) throw failed?.[0] ?? new Error('shape write aborted')
    },

    async get (id: string): Promise<Shape | undefined> {
      const raw = await redis.get(shapeKey(id))
      return raw === null ? undefined : decode(id, raw)
    },

    /** The shapes of the ids, in order; undefined where an id is unknown. */
    getMany,

    /**
     * Every stored shape whose perimeter is strictly greater than `min`, in ascending perimeter order, one page
     * (of up to `pageSize` index entries) per Redis round trip, read only as the consumer pulls.
     */
    async * byPerimeter (min: number, pageSize: number): AsyncGenerator<ShapeWithPerimeter[]> {
      // Cursor = (lower bound, ties already seen at that bound): shapes added below the cursor while we stream
      // can't shift the pages, unlike a plain offset.
      let lower = `(${min}`
      let skip = 0
      for (;;) {
        const page = await redis.zrange(BY_PERIMETER, lower, '+inf', 'BYSCORE', 'LIMIT', skip, pageSize, 'WITHSCORES')
        if (page.length === 0) break
        const ids = page.filter((_, i) => i % 2 === 0)
        const scores = page.filter((_, i) => i % 2 === 1)
        const shapes = await getMany(ids)
        const out: ShapeWithPerimeter[] = []
        // An index entry whose shape document is missing is skipped rather than failing the stream.
        shapes.forEach((shape, i) => { if (shape) out.push({ shape, perimeter: Number(scores[i]) }) })
        yield out
        if (ids.length < pageSize) break
        const last = scores[scores.length - 1]!
        const ties = scores.filter(s => s === last).length
        skip = lower === last ? skip + ties : ties
        lower = last
      }
    }
  }
}

export type ShapesStore = ReturnType<typeof createShapesStore>
