// Original file: proto/leaderboard.proto

export const Option = {
  ALL_TIME: 'ALL_TIME',
  LAST_30_DAYS: 'LAST_30_DAYS',
} as const;

export type Option =
  | 'ALL_TIME'
  | 0
  | 'LAST_30_DAYS'
  | 1

export type Option__Output = typeof Option[keyof typeof Option]
