// Original file: proto/shapes.proto

import type { Code as _Code, Code__Output as _Code__Output } from './Code.js';
import type { Shape as _Shape, Shape__Output as _Shape__Output } from './Shape.js';

export interface GetAreasResponse {
  'status_code'?: (_Code);
  'message'?: (string);
  'area'?: (number | string);
  'shape'?: (_Shape | null);
  '_area'?: "area";
  '_shape'?: "shape";
}

export interface GetAreasResponse__Output {
  'status_code': (_Code__Output);
  'message': (string);
  'area'?: (number);
  'shape'?: (_Shape__Output | null);
  '_area'?: "area";
  '_shape'?: "shape";
}
