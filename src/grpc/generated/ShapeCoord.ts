// Original file: proto/shapes.proto


export interface ShapeCoord {
  'x'?: (number);
  'y'?: (number);
  '_x'?: "x";
  '_y'?: "y";
}

export interface ShapeCoord__Output {
  'x'?: (number);
  'y'?: (number);
  '_x'?: "x";
  '_y'?: "y";
}
