// Original file: proto/shapes.proto

import type { Code as _Code, Code__Output as _Code__Output } from './Code.js';
import type { Shape as _Shape, Shape__Output as _Shape__Output } from './Shape.js';

export interface CreateShapeResponse {
  'status_code'?: (_Code);
  'message'?: (string);
  'shape'?: (_Shape | null);
  '_shape'?: "shape";
}

export interface CreateShapeResponse__Output {
  'status_code': (_Code__Output);
  'message': (string);
  'shape'?: (_Shape__Output | null);
  '_shape'?: "shape";
}
