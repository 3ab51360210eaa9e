// Original file: proto/leaderboard.proto


export interface TokenAuth {
  'token'?: (string);
}

export interface TokenAuth__Output {
  'token': (string);
}
