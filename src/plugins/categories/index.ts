import fp from 'fastify-plugin'
import { createCategoryStore } from './redis-store.js'
import { createCategories, type CategoriesService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance { categories: CategoriesService }
}

export default fp(async function categoriesPlugin (app) {
  const { config } = app
  app.decorate('categories', createCategories({
    store: createCategoryStore(app.redis),
    limits: {
      maxNodes: config.CATEGORIES_MAX_NODES, maxDepth: config.CATEGORIES_MAX_DEPTH, pageMax: config.CATEGORIES_PAGE_MAX
    }
  }))
}, { name: 'categories', dependencies: ['redis'] })
