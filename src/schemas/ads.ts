import { Type, type Static } from 'typebox'

// Documentation of the ads API. The routes check their query strings themselves (see src/routes/ads.ts) so that
// every 400 has the original service's `{ success: false, message }` body and its wording.

export const AdQuerySchema = Type.Object({
  sdk_version: Type.String({ description: 'SDK version of 1-4 numbers, e.g. 1, 1.0, 2.3.1', maxLength: 32 }),
  session_id: Type.String({ maxLength: 128, description: 'may be empty (an SDK without a session yet)' }),
  platform: Type.String({ minLength: 1, maxLength: 32 }),
  username: Type.String({ minLength: 1, maxLength: 128 }),
  country_code: Type.String({ description: 'ISO 3166-1 alpha-2 (two letters; alpha-3 such as FIN is refused)', pattern: '^[A-Za-z]{2}$' })
})
export type AdQuery = Static<typeof AdQuerySchema>

export const ImpressionQuerySchema = Type.Object({
  ...AdQuerySchema.properties,
  ad_serving_id: Type.Optional(Type.String({ description: 'from a served Impression URL (signed impressions only)' })),
  ts: Type.Optional(Type.String({ description: 'issue time, Unix seconds (signed impressions only)' })),
  sig: Type.Optional(Type.String({ description: 'HMAC-SHA256, base64url (signed impressions only)' }))
})

export const StatisticsQuerySchema = Type.Object({
  username: Type.Optional(Type.String({ description: 'statistics of one username' })),
  sdk: Type.Optional(Type.String({ description: 'statistics of one SDK version; the first of username/sdk given wins' })),
  include: Type.Optional(Type.Literal('no_fills', { description: 'also report the no-fill count' }))
})

export const AdsReplySchema = Type.Object({
  success: Type.Boolean(),
  message: Type.String()
})

export const AdStatisticsSchema = Type.Object({
  impressions: Type.Integer(),
  ad_requests: Type.Integer(),
  fill_rate: Type.Number({ description: 'impressions / ad_requests (0 without requests)' }),
  no_fills: Type.Optional(Type.Integer({ description: 'only with include=no_fills' }))
})

export const StatisticsReplySchema = Type.Object({
  success: Type.Boolean()
}, { additionalProperties: AdStatisticsSchema, description: '{ success, "<username or sdk>": statistics }' })

export const VastSchema = Type.String({ description: 'VAST 4.2 XML' })
