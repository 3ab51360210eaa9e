// Original file: proto/user_ingest.proto


export interface UserRequest {
  'id'?: (number);
  'user_name'?: (string);
  'email'?: (string);
  'first_name'?: (string);
  'last_name'?: (string);
  'ip_address'?: (string);
  'gender'?: (string);
  'country'?: (string);
  'agent'?: (string);
}

export interface UserRequest__Output {
  'id': (number);
  'user_name': (string);
  'email': (string);
  'first_name': (string);
  'last_name': (string);
  'ip_address': (string);
  'gender': (string);
  'country': (string);
  'agent': (string);
}
