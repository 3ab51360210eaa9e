// Original file: proto/shapes.proto

import type { ShapeCoord as _ShapeCoord, ShapeCoord__Output as _ShapeCoord__Output } from './ShapeCoord.js';

export interface Shape {
  'shape_id'?: (string);
  'shape_type'?: (string);
  'coords'?: (_ShapeCoord)[];
}

export interface Shape__Output {
  'shape_id': (string);
  'shape_type': (string);
  'coords': (_ShapeCoord__Output)[];
}
