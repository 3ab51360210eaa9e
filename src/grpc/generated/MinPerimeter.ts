// Original file: proto/shapes.proto


export interface MinPerimeter {
  'min_perimeter'?: (number | string);
}

export interface MinPerimeter__Output {
  'min_perimeter': (number);
}
