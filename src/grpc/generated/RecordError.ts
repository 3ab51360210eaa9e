// Original file: proto/user_ingest.proto


export interface RecordError {
  'index'?: (number);
  'message'?: (string);
}

export interface RecordError__Output {
  'index': (number);
  'message': (string);
}
