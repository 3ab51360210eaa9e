// Original file: proto/leaderboard.proto


export interface BasicCredentials {
  'data'?: (string);
}

export interface BasicCredentials__Output {
  'data': (string);
}
