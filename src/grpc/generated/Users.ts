// Original file: proto/user_ingest.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { UserBatch as _UserBatch, UserBatch__Output as _UserBatch__Output } from './UserBatch.js';
import type { UserRequest as _UserRequest, UserRequest__Output as _UserRequest__Output } from './UserRequest.js';
import type { UserResponse as _UserResponse, UserResponse__Output as _UserResponse__Output } from './UserResponse.js';

export interface UsersClient extends grpc.Client {
  SendUserBatchStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  SendUserBatchStream(metadata: grpc.Metadata, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  SendUserBatchStream(options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  SendUserBatchStream(callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  sendUserBatchStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  sendUserBatchStream(metadata: grpc.Metadata, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  sendUserBatchStream(options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  sendUserBatchStream(callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserBatch>;
  
  SendUserInfo(argument: _UserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  SendUserInfo(argument: _UserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  SendUserInfo(argument: _UserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  SendUserInfo(argument: _UserRequest, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  sendUserInfo(argument: _UserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  sendUserInfo(argument: _UserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  sendUserInfo(argument: _UserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  sendUserInfo(argument: _UserRequest, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientUnaryCall;
  
  SendUserInfoClientStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  SendUserInfoClientStream(metadata: grpc.Metadata, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  SendUserInfoClientStream(options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  SendUserInfoClientStream(callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  sendUserInfoClientStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  sendUserInfoClientStream(metadata: grpc.Metadata, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  sendUserInfoClientStream(options: grpc.CallOptions, callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  sendUserInfoClientStream(callback: grpc.requestCallback<_UserResponse__Output>): grpc.ClientWritableStream<_UserRequest>;
  
}

export interface UsersHandlers extends grpc.UntypedServiceImplementation {
  SendUserBatchStream: grpc.handleClientStreamingCall<_UserBatch__Output, _UserResponse>;
  
  SendUserInfo: grpc.handleUnaryCall<_UserRequest__Output, _UserResponse>;
  
  SendUserInfoClientStream: grpc.handleClientStreamingCall<_UserRequest__Output, _UserResponse>;
  
}

export interface UsersDefinition extends grpc.ServiceDefinition {
  SendUserBatchStream: MethodDefinition<_UserBatch, _UserResponse, _UserBatch__Output, _UserResponse__Output>
  SendUserInfo: MethodDefinition<_UserRequest, _UserResponse, _UserRequest__Output, _UserResponse__Output>
  SendUserInfoClientStream: MethodDefinition<_UserRequest, _UserResponse, _UserRequest__Output, _UserResponse__Output>
}
