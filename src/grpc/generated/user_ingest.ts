import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { RecordError as _RecordError, RecordError__Output as _RecordError__Output } from './RecordError.js';
import type { UserBatch as _UserBatch, UserBatch__Output as _UserBatch__Output } from './UserBatch.js';
import type { UserRequest as _UserRequest, UserRequest__Output as _UserRequest__Output } from './UserRequest.js';
import type { UserResponse as _UserResponse, UserResponse__Output as _UserResponse__Output } from './UserResponse.js';
import type { UsersClient as _UsersClient, UsersDefinition as _UsersDefinition } from './Users.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  RecordError: MessageTypeDefinition<_RecordError, _RecordError__Output>
  UserBatch: MessageTypeDefinition<_UserBatch, _UserBatch__Output>
  UserRequest: MessageTypeDefinition<_UserRequest, _UserRequest__Output>
  UserResponse: MessageTypeDefinition<_UserResponse, _UserResponse__Output>
  Users: SubtypeConstructor<typeof grpc.Client, _UsersClient> & { service: _UsersDefinition }
}

