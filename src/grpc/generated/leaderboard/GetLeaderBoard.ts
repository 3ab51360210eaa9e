// Original file: proto/leaderboard.proto

import type { Option as _leaderboard_Option, Option__Output as _leaderboard_Option__Output } from '../leaderboard/Option.js';

export interface GetLeaderBoard {
  'page'?: (number);
  'name'?: (string);
  'option'?: (_leaderboard_Option);
  'board'?: (string);
}

export interface GetLeaderBoard__Output {
  'page': (number);
  'name': (string);
  'option': (_leaderboard_Option__Output);
  'board': (string);
}
