import { Type, type Static } from 'typebox'

// Entries are validated by the leaderboard service, not by Ajv: Ajv's type coercion would turn "10" or true
// into numbers, and a bad batch must be refused naming the entry. The schema still documents both shapes.
export const ScoreEntrySchema = Type.Union([
  Type.Object({
    name: Type.String({ minLength: 1, maxLength: 128 }),
    score: Type.Integer({ minimum: 0, maximum: 4294967295 }),
    submission_id: Type.Optional(Type.String({ maxLength: 128, description: 'resubmissions with this id (per player and board, 24 h) are not applied twice' }))
  }),
  Type.Tuple([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer({ minimum: 0, maximum: 4294967295 })])
])
export type ScoreEntry = Static<typeof ScoreEntrySchema>

export const ScoresBodySchema = Type.Array(Type.Unknown(), {
  description: 'entries: { name, score, submission_id? } or the original pair form [name, score]; at most MAX_BATCH'
})

export const BoardQuerySchema = Type.Object({
  board: Type.Optional(Type.String({ description: 'board name (default: "default")' }))
})

export const ScoreResultSchema = Type.Object({
  name: Type.String(),
  score: Type.Integer({ description: 'the player\'s best all-time score after the batch' }),
  rank: Type.Integer({ description: 'all-time rank (ties share a rank)' }),
  window_rank: Type.Integer({ description: 'last-30-days rank' }),
  duplicate: Type.Optional(Type.Boolean({ description: 'present (true) when submission_id had been applied already' }))
})

export const LeaderboardQuerySchema = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: '1-based; 0 or absent = first page' })),
  name: Type.Optional(Type.String({ description: 'adds around_me when that player is past the requested page' })),
  window: Type.Optional(Type.Union([Type.Literal('all_time'), Type.Literal('last_30_days')])),
  last_30_days: Type.Optional(Type.String({ description: 'the original flag: present (any value but false/0) = window=last_30_days' })),
  board: Type.Optional(Type.String())
})
export type LeaderboardQuery = Static<typeof LeaderboardQuerySchema>

export const BoardRecordSchema = Type.Object({ name: Type.String(), score: Type.Integer(), rank: Type.Integer() })

export const BoardPageSchema = Type.Object({
  results: Type.Array(BoardRecordSchema),
  around_me: Type.Array(BoardRecordSchema),
  next_page: Type.Integer({ description: 'the following page, 0 when none' }),
  total: Type.Integer({ description: 'players on the board' })
})

export const PlayerParamsSchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) })

export const PlayerDeletedSchema = Type.Object({
  name: Type.String(),
  boards: Type.Array(Type.String(), { description: 'boards the player was removed from' })
})
