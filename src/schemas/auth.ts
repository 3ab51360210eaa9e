import { Type, type Static } from 'typebox'

export const JwtResponseSchema = Type.Object({
  jwt: Type.String({ description: 'HS256 JWT for Authorization: Bearer' }),
  expires_in: Type.Integer({ description: 'lifetime in seconds' })
})

export const AccountCreateSchema = Type.Object({
  username: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$' }),
  password: Type.String({ minLength: 8, maxLength: 256 }),
  admin: Type.Optional(Type.Boolean({ default: false }))
}, { additionalProperties: false })
export type AccountCreate = Static<typeof AccountCreateSchema>

export const TokenResponseSchema = Type.Object({ token: Type.String() })

export const TokenRevokeSchema = Type.Union([
  Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
  Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })
])

export const RevokedSchema = Type.Object({ revoked: Type.Integer() })
