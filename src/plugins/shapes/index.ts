import fp from 'fastify-plugin'
import { createShapesStore } from './redis-store.js'
import { createShapes, type ShapesService } from './service.js'

// The shapes domain: decorates app.shapes; the gRPC ShapeService (src/grpc/services/shapes.ts) only calls this.
export default fp(async function shapesPlugin (app) {
  app.decorate('shapes', createShapes({
    store: createShapesStore(app.redis), maxListedIds: app.config.SHAPES_TOTAL_AREA_MAX_IDS
  }))
}, { name: 'shapes', dependencies: ['redis'] })

declare module 'fastify' {
  interface FastifyInstance {
    shapes: ShapesService
  }
}
