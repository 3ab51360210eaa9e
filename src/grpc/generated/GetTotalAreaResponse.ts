// Original file: proto/shapes.proto

import type { Code as _Code, Code__Output as _Code__Output } from './Code.js';
import type { ShapeId as _ShapeId, ShapeId__Output as _ShapeId__Output } from './ShapeId.js';

export interface GetTotalAreaResponse {
  'status_code'?: (_Code);
  'message'?: (string);
  'total_area'?: (number | string);
  'valid_ids'?: (_ShapeId)[];
  'invalid_ids'?: (_ShapeId)[];
  '_total_area'?: "total_area";
}

export interface GetTotalAreaResponse__Output {
  'status_code': (_Code__Output);
  'message': (string);
  'total_area'?: (number);
  'valid_ids': (_ShapeId__Output)[];
  'invalid_ids': (_ShapeId__Output)[];
  '_total_area'?: "total_area";
}
