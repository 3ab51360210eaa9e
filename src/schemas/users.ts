import { Type, type Static } from 'typebox'

export const UserSchema = Type.Object({
  id: Type.Integer(),
  user_name: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  ip_address: Type.String(),
  gender: Type.String(),
  country: Type.String(),
  agent: Type.String()
})
export type User = Static<typeof UserSchema>

export const UserParamsSchema = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254, description: 'compared case-insensitively' })
})

export const UserListQuerySchema = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 254, description: 'next_cursor of the previous page (opaque)' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
})

export const UserPageSchema = Type.Object({
  users: Type.Array(UserSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' })
})

export const UsersStatsSchema = Type.Object({
  stored: Type.Integer(),
  inserted: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  queue: Type.Object({ waiting: Type.Integer(), active: Type.Integer(), failed: Type.Integer() })
})

export const ExportAcceptedSchema = Type.Object({ job_id: Type.String() })

export const ExportParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) })

export const ExportStatusSchema = Type.Object({
  job_id: Type.String(),
  state: Type.String({ description: 'waiting | delayed | active | completed | failed | unknown' }),
  result: Type.Optional(Type.Object({
    path: Type.String(),
    count: Type.Integer(),
    bytes: Type.Integer(),
    duration_ms: Type.Integer()
  })),
  failed_reason: Type.Optional(Type.String())
})

export const DeadLetterSchema = Type.Object({
  queue: Type.String({ description: '<domain>:q:<name>' }),
  id: Type.String(),
  name: Type.String(),
  failed_reason: Type.String(),
  attempts_made: Type.Integer(),
  failed_at: Type.Union([Type.Integer(), Type.Null()]),
  data_bytes: Type.Integer()
})

export const DeadLetterListSchema = Type.Object({ dead_letters: Type.Array(DeadLetterSchema), total: Type.Integer() })

export const DeadLetterListQuerySchema = Type.Object({
  queue: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
})

export const DeadLetterReplaySchema = Type.Object({
  queue: Type.Optional(Type.String({ maxLength: 200, description: 'only this queue (<domain>:q:<name>)' })),
  ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10000, description: 'only these job ids' }))
}, { additionalProperties: false })

export const DeadLetterReplayedSchema = Type.Object({ replayed: Type.Integer() })
