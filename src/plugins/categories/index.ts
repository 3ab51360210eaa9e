import fp from 'fastify-plugin'
import { createCategoryStore } from './redis-store.js'
import { createCategories, type CategoriesService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance { categories: CategoriesService }
}

export default fp(async function categoriesPlugin (app) {
  app.decorate('categories', createCategories({ store: createCategoryStore(app.redis) }))
}, { name: 'categories', dependencies: ['redis'] })
