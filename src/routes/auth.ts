import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../errors.js'
import { ErrorSchema } from '../schemas/errors.js'
import { AccountCreateSchema, JwtResponseSchema, RevokedSchema, TokenResponseSchema, TokenRevokeSchema } from '../schemas/auth.js'
import { basicLogin, requireAdmin, requireJwt } from './guards.js'

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema }

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { auth } = app

  app.post('/auth', {
    schema: {
      tags: ['auth'],
      summary: 'Exchange HTTP Basic credentials for a REST JWT',
      security: [{ basicAuth: [] }],
      response: { 200: JwtResponseSchema, ...errors }
    },
    // Per client address here; per username inside basicLogin.
    config: { rateLimit: { max: 20, timeWindow: 60_000 } }
  }, async (request, reply) => {
    return await auth.signJwt(await basicLogin(request, reply))
  })

  app.post('/tokens', {
    schema: {
      tags: ['auth'],
      summary: 'Issue a gRPC token for the caller (HTTP Basic), as AuthenticateUser does',
      security: [{ basicAuth: [] }],
      response: { 201: TokenResponseSchema, ...errors }
    },
    config: { rateLimit: { max: 20, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const principal = await basicLogin(request, reply)
    return reply.code(201).send({ token: await auth.issueToken(principal.username) })
  })

  app.post('/auth/revoke', {
    schema: {
      tags: ['auth'],
      summary: "Revoke every REST JWT and gRPC token of the caller's own account (Bearer JWT or HTTP Basic)",
      security: [{ bearerAuth: [] }, { basicAuth: [] }],
      response: { 200: RevokedSchema, ...errors }
    },
    config: { rateLimit: { max: 20, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const header = request.headers.authorization
    const username = typeof header === 'string' && /^Basic\s/i.test(header)
      ? (await basicLogin(request, reply)).username
      : (await requireJwt(request), request.user.sub)
    // `revoked` counts gRPC tokens; every JWT of the account (this one too) is refused from now on as well.
    return { revoked: await auth.revokeAllTokens(username) }
  })

  app.post('/tokens/revoke', {
    schema: {
      tags: ['auth', 'admin'],
      summary: 'Revoke one gRPC token, or every token of an account (admin)',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      body: TokenRevokeSchema,
      response: { 200: RevokedSchema, 404: ErrorSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request) => {
    const body = request.body
    if ('token' in body) {
      if (!(await auth.revokeToken(body.token))) throw new NotFoundError('no such token')
      return { revoked: 1 }
    }
    return { revoked: await auth.revokeAllTokens(body.username) }
  })

  app.post('/accounts', {
    schema: {
      tags: ['auth', 'admin'],
      summary: 'Create an account (admin)',
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
      body: AccountCreateSchema,
      response: { 201: Type.Object({ username: Type.String(), admin: Type.Boolean() }), 409: ErrorSchema, ...errors }
    },
    preHandler: requireAdmin
  }, async (request, reply) => {
    const { username, password, admin = false } = request.body
    await auth.createAccount(username, password, { admin })
    return reply.code(201).send({ username, admin })
  })
}

export default authRoutes
