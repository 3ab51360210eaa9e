// Original file: proto/shapes.proto

import type { Code as _Code, Code__Output as _Code__Output } from './Code.js';
import type { Shape as _Shape, Shape__Output as _Shape__Output } from './Shape.js';

export interface GetPerimetersGreaterThanResponse {
  'status_code'?: (_Code);
  'message'?: (string);
  'perimeter'?: (number | string);
  'shape'?: (_Shape | null);
  '_perimeter'?: "perimeter";
  '_shape'?: "shape";
}

export interface GetPerimetersGreaterThanResponse__Output {
  'status_code': (_Code__Output);
  'message': (string);
  'perimeter'?: (number);
  'shape'?: (_Shape__Output | null);
  '_perimeter'?: "perimeter";
  '_shape'?: "shape";
}
