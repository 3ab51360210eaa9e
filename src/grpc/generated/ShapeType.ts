// Original file: proto/shapes.proto


export interface ShapeType {
  'shape_type'?: (string);
}

export interface ShapeType__Output {
  'shape_type': (string);
}
