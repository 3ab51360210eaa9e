// Original file: proto/user_ingest.proto

import type { UserRequest as _UserRequest, UserRequest__Output as _UserRequest__Output } from './UserRequest.js';

export interface UserBatch {
  'users'?: (_UserRequest)[];
}

export interface UserBatch__Output {
  'users': (_UserRequest__Output)[];
}
