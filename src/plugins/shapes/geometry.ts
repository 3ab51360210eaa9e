import { randomInt } from 'node:crypto'

// Pure geometry of the showcase shapes: random generation, areas and perimeters. No I/O here, so the closed
// forms can be tested directly.

export const SHAPE_TYPES = ['Triangle', 'Rectangle', 'Pentagon'] as const
export type ShapeKind = typeof SHAPE_TYPES[number]

export interface Coord { x: number, y: number }
export interface Shape { id: string, type: ShapeKind, coords: Coord[] }

/** Inclusive random integer; injectable so tests can pin the geometry. */
export type RandomInt = (min: number, max: number) => number
export const cryptoRandomInt: RandomInt = (min, max) => randomInt(min, max + 1)

export const ID_PREFIX: Record<ShapeKind, string> = { Triangle: 'T', Rectangle: 'R', Pentagon: 'P' }
const KIND_BY_PREFIX: Record<string, ShapeKind> = { T: 'Triangle', R: 'Rectangle', P: 'Pentagon' }
// Up to 15 digits keeps every id an exact JavaScript integer and a short Redis key.
const SHAPE_ID = /^([TRP])-(0|[1-9]\d{0,14})$/

/** Case-insensitive type name → the one stored spelling, or undefined for an unknown type. */
export function parseShapeType (raw: string): ShapeKind | undefined {
  const wanted = raw.trim().toLowerCase()
  return SHAPE_TYPES.find(k => k.toLowerCase() === wanted)
}

/** The kind an id names, or undefined when the id is malformed (`T-0`, `R-12`, `P-3` are well formed). */
export function kindOfId (id: string): ShapeKind | undefined {
  const m = SHAPE_ID.exec(id)
  return m ? KIND_BY_PREFIX[m[1]!] : undefined
}

const even = (random: RandomInt, min: number, max: number) => 2 * random(min / 2, max / 2)

/** Coordinates of a new shape of `kind`, with the size ranges of the original service. */
export function randomCoords (kind: ShapeKind, random: RandomInt = cryptoRandomInt): Coord[] {
  switch (kind) {
    case 'Triangle': {
      const w = even(random, 2, 100)
      const h = random(1, 50)
      return [{ x: 0, y: 0 }, { x: w / 2, y: h }, { x: w, y: 0 }]
    }
    case 'Rectangle': {
      const w = random(1, 50)
      const h = random(1, 50)
      return [{ x: 0, y: 0 }, { x: 0, y: h }, { x: w, y: h }, { x: w, y: 0 }]
    }
    case 'Pentagon': {
      const w = even(random, 2, 100)
      const h = even(random, 2, 100)
      return [{ x: 0, y: 0 }, { x: 0, y: h / 2 }, { x: w / 2, y: h }, { x: w, y: h / 2 }, { x: w, y: 0 }]
    }
  }
}

/** Shoelace formula; the absolute value makes it independent of the winding order. */
export function area (coords: readonly Coord[]): number {
  let twice = 0
  for (let i = 0; i < coords.length; i++) {
    const a = coords[i]!
    const b = coords[(i + 1) % coords.length]!
    twice += a.x * b.y - b.x * a.y
  }
  return Math.abs(twice) / 2
}

/** Sum of the polygon's edges, closing edge included. */
export function perimeter (coords: readonly Coord[]): number {
  let sum = 0
  for (let i = 0; i < coords.length; i++) {
    const a = coords[i]!
    const b = coords[(i + 1) % coords.length]!
    sum += Math.hypot(b.x - a.x, b.y - a.y)
  }
  return sum
}
