// Original file: proto/leaderboard.proto

import type { LeaderBoardRecord as _leaderboard_LeaderBoardRecord, LeaderBoardRecord__Output as _leaderboard_LeaderBoardRecord__Output } from '../leaderboard/LeaderBoardRecord.js';

export interface LeaderBoardResponse {
  'results'?: (_leaderboard_LeaderBoardRecord)[];
  'around_me'?: (_leaderboard_LeaderBoardRecord)[];
  'next_page'?: (number);
  'total'?: (number);
}

export interface LeaderBoardResponse__Output {
  'results': (_leaderboard_LeaderBoardRecord__Output)[];
  'around_me': (_leaderboard_LeaderBoardRecord__Output)[];
  'next_page': (number);
  'total': (number);
}
