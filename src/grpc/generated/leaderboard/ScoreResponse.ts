// Original file: proto/leaderboard.proto


export interface ScoreResponse {
  'name'?: (string);
  'rank'?: (number);
  'best_score'?: (number);
  'window_rank'?: (number);
  'duplicate'?: (boolean);
  'error'?: (string);
  'submission_id'?: (string);
}

export interface ScoreResponse__Output {
  'name': (string);
  'rank': (number);
  'best_score': (number);
  'window_rank': (number);
  'duplicate': (boolean);
  'error': (string);
  'submission_id': (string);
}
