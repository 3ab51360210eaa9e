// Original file: proto/shapes.proto


export interface ShapeId {
  'shape_id'?: (string);
}

export interface ShapeId__Output {
  'shape_id': (string);
}
