// Original file: proto/user_ingest.proto

import type { RecordError as _RecordError, RecordError__Output as _RecordError__Output } from './RecordError.js';

export interface UserResponse {
  'status'?: (boolean);
  'message'?: (string);
  'received'?: (number);
  'accepted'?: (number);
  'duplicates'?: (number);
  'rejected'?: (number);
  'errors'?: (_RecordError)[];
  'jobs'?: (number);
}

export interface UserResponse__Output {
  'status': (boolean);
  'message': (string);
  'received': (number);
  'accepted': (number);
  'duplicates': (number);
  'rejected': (number);
  'errors': (_RecordError__Output)[];
  'jobs': (number);
}
