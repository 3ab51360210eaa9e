import { perKey } from '../infra/gather.js'
import type { RedisClient } from '../infra/lua.js'
import { ID_PREFIX, type Coord, type Shape, type ShapeKind } from './geometry.js'

// The only file of the shapes domain that names keys or talks to Redis. Keys:
//   shapes:seq:<T|R|P>     string      per-type counter (INCR), so concurrent creates never share an id
//   shapes:shape:<id>      string      JSON { t: type, c: [[x, y], …] }
//   shapes:by_perimeter    sorted set  id → perimeter, read in pages by GetPerimetersGreaterThan
// No hash tags: every key is a unit of its own, hashed whole, so the shape documents (the bulk of the data and of
// the reads) spread over the masters of a Redis Cluster. The perimeter index is one key, so one slot: every
// create writes it, which bounds the domain's write rate by one master (ample for shapes made one RPC at a time).
// No command touches two keys of different slots:
// - save is two steps, the document first, then its index entry. A reader of the index therefore never meets an
//   entry without its document; a crash between the steps leaves a document that is never listed, under an id its
//   caller never received (the create failed), and the next create takes the next id. (The perimeter stream also
//   skips an entry whose document is missing, should one ever be lost.)
// - getMany and the pages of byPerimeter read the documents with GET, one pipeline per node (perKey), never MGET.
// The names predate the cluster work unchanged: nothing to migrate.

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
    const docs = await perKey<string | null>(redis, ids.map(shapeKey), (pipeline, key) => { pipeline.get(key) })
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

    /** Stores a shape, then indexes it by perimeter: it is listed only once it can be read. */
    async save (shape: Shape, perimeter: number): Promise<void> {
      await redis.set(shapeKey(shape.id), encode(shape))
      await redis.zadd(BY_PERIMETER, perimeter, shape.id)
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
