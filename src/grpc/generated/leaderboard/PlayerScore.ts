// Original file: proto/leaderboard.proto


export interface PlayerScore {
  'name'?: (string);
  'score'?: (number);
  'submission_id'?: (string);
  'board'?: (string);
}

export interface PlayerScore__Output {
  'name': (string);
  'score': (number);
  'submission_id': (string);
  'board': (string);
}
