import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CreateShapeResponse as _CreateShapeResponse, CreateShapeResponse__Output as _CreateShapeResponse__Output } from './CreateShapeResponse.js';
import type { GetAreasResponse as _GetAreasResponse, GetAreasResponse__Output as _GetAreasResponse__Output } from './GetAreasResponse.js';
import type { GetPerimetersGreaterThanResponse as _GetPerimetersGreaterThanResponse, GetPerimetersGreaterThanResponse__Output as _GetPerimetersGreaterThanResponse__Output } from './GetPerimetersGreaterThanResponse.js';
import type { GetShapeResponse as _GetShapeResponse, GetShapeResponse__Output as _GetShapeResponse__Output } from './GetShapeResponse.js';
import type { GetTotalAreaResponse as _GetTotalAreaResponse, GetTotalAreaResponse__Output as _GetTotalAreaResponse__Output } from './GetTotalAreaResponse.js';
import type { MinPerimeter as _MinPerimeter, MinPerimeter__Output as _MinPerimeter__Output } from './MinPerimeter.js';
import type { Shape as _Shape, Shape__Output as _Shape__Output } from './Shape.js';
import type { ShapeCoord as _ShapeCoord, ShapeCoord__Output as _ShapeCoord__Output } from './ShapeCoord.js';
import type { ShapeId as _ShapeId, ShapeId__Output as _ShapeId__Output } from './ShapeId.js';
import type { ShapeServiceClient as _ShapeServiceClient, ShapeServiceDefinition as _ShapeServiceDefinition } from './ShapeService.js';
import type { ShapeType as _ShapeType, ShapeType__Output as _ShapeType__Output } from './ShapeType.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  Code: EnumTypeDefinition
  CreateShapeResponse: MessageTypeDefinition<_CreateShapeResponse, _CreateShapeResponse__Output>
  GetAreasResponse: MessageTypeDefinition<_GetAreasResponse, _GetAreasResponse__Output>
  GetPerimetersGreaterThanResponse: MessageTypeDefinition<_GetPerimetersGreaterThanResponse, _GetPerimetersGreaterThanResponse__Output>
  GetShapeResponse: MessageTypeDefinition<_GetShapeResponse, _GetShapeResponse__Output>
  GetTotalAreaResponse: MessageTypeDefinition<_GetTotalAreaResponse, _GetTotalAreaResponse__Output>
  MinPerimeter: MessageTypeDefinition<_MinPerimeter, _MinPerimeter__Output>
  Shape: MessageTypeDefinition<_Shape, _Shape__Output>
  ShapeCoord: MessageTypeDefinition<_ShapeCoord, _ShapeCoord__Output>
  ShapeId: MessageTypeDefinition<_ShapeId, _ShapeId__Output>
  ShapeService: SubtypeConstructor<typeof grpc.Client, _ShapeServiceClient> & { service: _ShapeServiceDefinition }
  ShapeType: MessageTypeDefinition<_ShapeType, _ShapeType__Output>
}

