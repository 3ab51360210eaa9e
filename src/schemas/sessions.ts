import { Type, type Static } from 'typebox'

const Timestamp = Type.String({ description: 'ISO-8601 in UTC with microseconds, e.g. 2016-12-02T12:48:05.520022Z' })

// Documents what a game client sends. Each event is validated on its own by the service (so that one bad event
// does not refuse its batch): POST /put_events does not hand this schema to the validator, see the route.
export const SessionEventSchema = Type.Object({
  event: Type.Union([Type.Literal('start'), Type.Literal('end')]),
  player_id: Type.String({ minLength: 1, maxLength: 64 }),
  session_id: Type.String({ minLength: 1, maxLength: 64 }),
  ts: Type.String({
    description: 'ISO-8601, up to microseconds; no zone means UTC',
    examples: ['2016-12-02T12:48:05.520022']
  }),
  country: Type.Optional(Type.String({
    description: 'two letters (ISO 3166-1 alpha-2 form, any code incl. XK, ZZ; any case, stored upper case), required on start events',
    examples: ['FI']
  }))
}, { additionalProperties: false })
export type SessionEventBody = Static<typeof SessionEventSchema>

export const PutEventsBodySchema = Type.Array(SessionEventSchema, { minItems: 1, maxItems: 10 })

export const PutEventsResultSchema = Type.Object({
  accepted: Type.Integer({ description: 'events stored by this request' }),
  duplicates: Type.Integer({ description: 'events already stored (same session_id and event kind); nothing changed' }),
  rejected: Type.Array(Type.Object({
    index: Type.Integer({ description: 'position of the event in the batch' }),
    message: Type.String()
  }))
})

// 400 of POST /put_events: a batch refused whole ({ message, code }), or one whose every event was rejected (the
// per-event report beside message and code).
export const PutEventsRefusedSchema = Type.Object({
  message: Type.String(),
  code: Type.String(),
  details: Type.Optional(Type.Unknown()),
  accepted: Type.Optional(Type.Integer()),
  duplicates: Type.Optional(Type.Integer()),
  rejected: Type.Optional(PutEventsResultSchema.properties.rejected)
})

export const PlayerParamsSchema = Type.Object({ player_id: Type.String({ minLength: 1, maxLength: 64 }) })
export const CompletedQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 })
})

export const CompletedSessionSchema = Type.Object({
  session_id: Type.String(),
  player_id: Type.String(),
  country: Type.String(),
  start: Timestamp,
  end: Timestamp,
  duration_seconds: Type.Number()
})
export const CompletedSessionsSchema = Type.Array(CompletedSessionSchema)

export const HoursParamsSchema = Type.Object({
  hours: Type.String({ description: 'a number > 0 and ≤ 8760; fractions such as 0.5 allowed' })
})
export const StartsQuerySchema = Type.Object({
  limit: Type.Integer({
    minimum: 0,
    maximum: 1000,
    default: 100,
    description: 'sessions listed per country (with `country` or `cursor`: the page size, 1-1000)'
  }),
  country: Type.Optional(Type.String({
    description: 'one country only (two letters, any case), its sessions a page at a time: the answer lists ' +
      'that country alone, with `next_cursor` when more of its sessions follow'
  })),
  cursor: Type.Optional(Type.String({
    maxLength: 600,
    description: 'a `next_cursor` of an earlier answer: the next page of its country, in the same window (the same ' +
      '`until`); `country` may be left out'
  }))
})

export const StartsByCountrySchema = Type.Object({
  since: Timestamp,
  until: Timestamp,
  total: Type.Integer(),
  countries: Type.Record(Type.String(), Type.Object({
    count: Type.Integer({ description: 'exact number of starts in the window' }),
    sessions: Type.Array(Type.Object({ session_id: Type.String(), player_id: Type.String(), ts: Timestamp })),
    next_cursor: Type.Optional(Type.String({
      description: 'present when the country has more sessions in the window than listed: pass it as `cursor` ' +
        '(with the same `hours`) for the next page'
    }))
  }))
})
