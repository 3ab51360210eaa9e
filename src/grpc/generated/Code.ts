// Original file: proto/shapes.proto

export const Code = {
  OK: 'OK',
  INVALID_SHAPE: 'INVALID_SHAPE',
  INVALID_PERIMETER: 'INVALID_PERIMETER',
  INVALID_SHAPE_ID: 'INVALID_SHAPE_ID',
  SHAPE_NOT_FOUND: 'SHAPE_NOT_FOUND',
  AREA_NOT_FOUND: 'AREA_NOT_FOUND',
} as const;

export type Code =
  | 'OK'
  | 0
  | 'INVALID_SHAPE'
  | 100
  | 'INVALID_PERIMETER'
  | 101
  | 'INVALID_SHAPE_ID'
  | 102
  | 'SHAPE_NOT_FOUND'
  | 103
  | 'AREA_NOT_FOUND'
  | 104

export type Code__Output = typeof Code[keyof typeof Code]
