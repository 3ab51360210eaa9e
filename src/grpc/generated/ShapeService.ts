// Original file: proto/shapes.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateShapeResponse as _CreateShapeResponse, CreateShapeResponse__Output as _CreateShapeResponse__Output } from './CreateShapeResponse.js';
import type { GetAreasResponse as _GetAreasResponse, GetAreasResponse__Output as _GetAreasResponse__Output } from './GetAreasResponse.js';
import type { GetPerimetersGreaterThanResponse as _GetPerimetersGreaterThanResponse, GetPerimetersGreaterThanResponse__Output as _GetPerimetersGreaterThanResponse__Output } from './GetPerimetersGreaterThanResponse.js';
import type { GetShapeResponse as _GetShapeResponse, GetShapeResponse__Output as _GetShapeResponse__Output } from './GetShapeResponse.js';
import type { GetTotalAreaResponse as _GetTotalAreaResponse, GetTotalAreaResponse__Output as _GetTotalAreaResponse__Output } from './GetTotalAreaResponse.js';
import type { MinPerimeter as _MinPerimeter, MinPerimeter__Output as _MinPerimeter__Output } from './MinPerimeter.js';
import type { ShapeId as _ShapeId, ShapeId__Output as _ShapeId__Output } from './ShapeId.js';
import type { ShapeType as _ShapeType, ShapeType__Output as _ShapeType__Output } from './ShapeType.js';

export interface ShapeServiceClient extends grpc.Client {
  CreateShape(argument: _ShapeType, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  CreateShape(argument: _ShapeType, metadata: grpc.Metadata, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  CreateShape(argument: _ShapeType, options: grpc.CallOptions, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  CreateShape(argument: _ShapeType, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  createShape(argument: _ShapeType, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  createShape(argument: _ShapeType, metadata: grpc.Metadata, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  createShape(argument: _ShapeType, options: grpc.CallOptions, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  createShape(argument: _ShapeType, callback: grpc.requestCallback<_CreateShapeResponse__Output>): grpc.ClientUnaryCall;
  
  GetAreas(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ShapeId, _GetAreasResponse__Output>;
  GetAreas(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ShapeId, _GetAreasResponse__Output>;
  getAreas(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ShapeId, _GetAreasResponse__Output>;
  getAreas(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ShapeId, _GetAreasResponse__Output>;
  
  GetPerimetersGreaterThan(argument: _MinPerimeter, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_GetPerimetersGreaterThanResponse__Output>;
  GetPerimetersGreaterThan(argument: _MinPerimeter, options?: grpc.CallOptions): grpc.ClientReadableStream<_GetPerimetersGreaterThanResponse__Output>;
  getPerimetersGreaterThan(argument: _MinPerimeter, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_GetPerimetersGreaterThanResponse__Output>;
  getPerimetersGreaterThan(argument: _MinPerimeter, options?: grpc.CallOptions): grpc.ClientReadableStream<_GetPerimetersGreaterThanResponse__Output>;
  
  GetShape(argument: _ShapeId, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  GetShape(argument: _ShapeId, metadata: grpc.Metadata, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  GetShape(argument: _ShapeId, options: grpc.CallOptions, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  GetShape(argument: _ShapeId, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  getShape(argument: _ShapeId, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  getShape(argument: _ShapeId, metadata: grpc.Metadata, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  getShape(argument: _ShapeId, options: grpc.CallOptions, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  getShape(argument: _ShapeId, callback: grpc.requestCallback<_GetShapeResponse__Output>): grpc.ClientUnaryCall;
  
  GetTotalArea(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  GetTotalArea(metadata: grpc.Metadata, callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  GetTotalArea(options: grpc.CallOptions, callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  GetTotalArea(callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  getTotalArea(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  getTotalArea(metadata: grpc.Metadata, callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  getTotalArea(options: grpc.CallOptions, callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  getTotalArea(callback: grpc.requestCallback<_GetTotalAreaResponse__Output>): grpc.ClientWritableStream<_ShapeId>;
  
}

export interface ShapeServiceHandlers extends grpc.UntypedServiceImplementation {
  CreateShape: grpc.handleUnaryCall<_ShapeType__Output, _CreateShapeResponse>;
  
  GetAreas: grpc.handleBidiStreamingCall<_ShapeId__Output, _GetAreasResponse>;
  
  GetPerimetersGreaterThan: grpc.handleServerStreamingCall<_MinPerimeter__Output, _GetPerimetersGreaterThanResponse>;
  
  GetShape: grpc.handleUnaryCall<_ShapeId__Output, _GetShapeResponse>;
  
  GetTotalArea: grpc.handleClientStreamingCall<_ShapeId__Output, _GetTotalAreaResponse>;
  
}

export interface ShapeServiceDefinition extends grpc.ServiceDefinition {
  CreateShape: MethodDefinition<_ShapeType, _CreateShapeResponse, _ShapeType__Output, _CreateShapeResponse__Output>
  GetAreas: MethodDefinition<_ShapeId, _GetAreasResponse, _ShapeId__Output, _GetAreasResponse__Output>
  GetPerimetersGreaterThan: MethodDefinition<_MinPerimeter, _GetPerimetersGreaterThanResponse, _MinPerimeter__Output, _GetPerimetersGreaterThanResponse__Output>
  GetShape: MethodDefinition<_ShapeId, _GetShapeResponse, _ShapeId__Output, _GetShapeResponse__Output>
  GetTotalArea: MethodDefinition<_ShapeId, _GetTotalAreaResponse, _ShapeId__Output, _GetTotalAreaResponse__Output>
}
