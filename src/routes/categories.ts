import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  CategoryCreatedSchema, CategoryParamsSchema, CategorySchema, CategoryTreeSchema, ErrorSchema
} from '../schemas/categories.js'

// Both spellings of each path are served (the original API used the trailing slash; many clients drop it).
// The slash-less twin is hidden from the OpenAPI document so each operation is listed once.
const categoriesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { categories } = app

  for (const url of ['/categories/', '/categories']) {
    app.post(url, {
      schema: {
        tags: ['categories'],
        summary: 'Create a nested tree of categories in one request, atomically',
        hide: url === '/categories',
        body: CategoryTreeSchema,
        response: { 201: CategoryCreatedSchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema }
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
        response: { 200: CategorySchema, 400: ErrorSchema, 404: ErrorSchema }
      }
    }, async (request) => await categories.get(request.params.id))
  }
}

export default categoriesRoutes
