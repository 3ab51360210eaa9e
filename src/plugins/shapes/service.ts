import {
  area, cryptoRandomInt, ID_PREFIX, kindOfId, parseShapeType, perimeter, randomCoords, SHAPE_TYPES,
  type RandomInt, type Shape
} from './geometry.js'
import type { ShapesStore } from './redis-store.js'

// The shapes domain's rules; storage is in redis-store.ts.
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

export interface ShapesDeps {
  store: ShapesStore
  random?: RandomInt
  /** Shapes read per Redis round trip while streaming perimeters. */
  pageSize?: number
  /** GetTotalArea lists at most this many valid and this many invalid ids (SHAPES_TOTAL_AREA_MAX_IDS). */
  maxListedIds?: number
}

export function createShapes ({ store, random = cryptoRandomInt, pageSize = 200, maxListedIds = 10_000 }: ShapesDeps) {
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
    const shape = await store.get(id)
    if (!shape) return { code: 'SHAPE_NOT_FOUND', message: `shape ${id} not found` }
    return { code: 'OK', message: `shape ${id} found`, shape }
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
      // The counter alone decides ids (ids of a kind start at 0); a crash between the two steps only leaves a gap.
      const n = await store.nextNumber(kind) - 1
      const shape: Shape = { id: `${ID_PREFIX[kind]}-${n}`, type: kind, coords: randomCoords(kind, random) }
      await store.save(shape, perimeter(shape.coords))
      return { code: 'OK', message: `${kind} ${shape.id} created`, shape }
    },

    get,

    /**
     * Every shape whose perimeter is strictly greater than `min`, in ascending perimeter order, read from the store
     * one page at a time as the consumer pulls (stop pulling and nothing more is read). Yields exactly one error result
     * for a negative `min` and one SHAPE_NOT_FOUND when nothing matches.
     */
    async * perimetersGreaterThan (min: number): AsyncGenerator<MeasureResult> {
      if (!(min >= 0)) {
        yield { code: 'INVALID_PERIMETER', message: `min_perimeter must be >= 0 (got ${min})` }
        return
      }
      let found = 0
      for await (const page of store.byPerimeter(min, pageSize)) {
        for (const { shape, perimeter } of page) {
          found++
          yield { code: 'OK', message: `perimeter of ${shape.id} is greater than ${min}`, value: perimeter, shape }
        }
      }
      if (found === 0) yield { code: 'SHAPE_NOT_FOUND', message: `no shape has a perimeter greater than ${min}` }
    },

    /**
     * Sum of the areas of the known ids. Every occurrence counts (an id sent twice is summed twice and listed
     * twice); ids are looked up in batches while the stream is still arriving. Memory is bounded whatever the
     * stream's length: only the first `maxListedIds` valid and invalid ids are kept for the answer's lists, the
     * rest are counted (the message says how many there were).
     */
    async totalArea (ids: AsyncIterable<string> | Iterable<string>): Promise<TotalAreaResult> {
      const validIds: string[] = []
      const invalidIds: string[] = []
      let valid = 0
      let invalid = 0
      let total = 0
      let batch: string[] = []
      const flush = async () => {
        const wellFormed = batch.filter(id => !idProblem(id))
        const shapes = await store.getMany(wellFormed)
        const byId = new Map(wellFormed.map((id, i) => [id, shapes[i]]))
        for (const id of batch) {
          const shape = byId.get(id)
          if (!shape) {
            if (++invalid <= maxListedIds) invalidIds.push(id)
          } else {
            if (++valid <= maxListedIds) validIds.push(id)
            total += area(shape.coords)
          }
        }
        batch = []
      }
      for await (const id of ids) {
        batch.push(id)
        if (batch.length >= pageSize) await flush()
      }
      await flush()
      const listed = valid > maxListedIds || invalid > maxListedIds
        ? ` (${valid} valid and ${invalid} invalid ids; the lists hold the first ${maxListedIds} of each)`
        : ''
      if (total === 0) {
        return { code: 'AREA_NOT_FOUND', message: `no known shape among the ids, total area is 0${listed}`, validIds, invalidIds }
      }
      return { code: 'OK', message: `total area of ${valid} shape(s)${listed}`, totalArea: total, validIds, invalidIds }
    },

    area: measureArea,

    /** One result per incoming id, in order, each produced as soon as its id arrives. */
    async * areas (ids: AsyncIterable<string>): AsyncGenerator<MeasureResult> {
      for await (const id of ids) yield await measureArea(id)
    }
  }
}

export type ShapesService = ReturnType<typeof createShapes>
