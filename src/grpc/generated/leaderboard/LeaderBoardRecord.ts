// Original file: proto/leaderboard.proto


export interface LeaderBoardRecord {
  'name'?: (string);
  'score'?: (number);
  'rank'?: (number);
}

export interface LeaderBoardRecord__Output {
  'name': (string);
  'score': (number);
  'rank': (number);
}
