import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  CategoryCreatedSchema, CategoryParamsSchema, CategoryQuerySchema, CategorySchema, CategoryTreeSchema, ErrorSchema
} from '../schemas/categories.js'
import { PlayfieldError } from '../errors.js'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { requireJwt } from './guards.js'

// Both spellings of each path are served (the original API used the trailing slash; many clients drop it).
// The slash-less twin is hidden from the OpenAPI document so each operation is listed once.
const categoriesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { categories, config } = app
  // A body over BODY_LIMIT_BYTES is refused before it is parsed: the 413 names both limits a tree meets.
  const tooLarge = new PlayfieldError(`the request body is larger than ${config.BODY_LIMIT_BYTES} bytes ` +
    `(BODY_LIMIT_BYTES); a category tree holds at most ${config.CATEGORIES_MAX_NODES} categories ` +
    '(CATEGORIES_MAX_NODES)', 413, GrpcStatus.RESOURCE_EXHAUSTED, 'PLAYFIELD_PAYLOAD_TOO_LARGE')

  for (const url of ['/categories/', '/categories']) {
    app.post(url, {
      schema: {
        tags: ['categories'],
        summary: 'Create a nested tree of categories in one request, atomically (any account)',
        hide: url === '/categories',
        security: [{ bearerAuth: [] }],
        body: CategoryTreeSchema,
        response: {
          201: CategoryCreatedSchema,
          400: ErrorSchema,
          401: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          413: ErrorSchema
        }
      },
      // Checked before the body is read: an anonymous caller never gets its tree parsed.
      onRequest: requireJwt,
      errorHandler (err) {
        throw (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? tooLarge : err
      }
    }, async (request, reply) => {
      return reply.code(201).send(await categories.create(request.body))
    })
  }

  for (const url of ['/categories/:id/', '/categories/:id']) {
    app.get(url, {
      schema: {
        tags: ['categories'],
        summary: 'A category with its ancestors, descendants, direct children and siblings',
        hide: url === '/categories/:id',
        params: CategoryParamsSchema,
        querystring: CategoryQuerySchema,
        response: { 200: CategorySchema, 400: ErrorSchema, 404: ErrorSchema }
      }
    }, async (request) => await categories.get(request.params.id, request.query))
  }
}

export default categoriesRoutes
