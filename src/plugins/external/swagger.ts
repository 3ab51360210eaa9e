import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

// The OpenAPI document is generated from the route schemas: routes declare params, query, body and responses.
export default fp(async function swaggerPlugin (app) {
  await app.register(swagger, {
    openapi: {
      info: { title: 'playfield', description: 'Game backend: leaderboard, sessions, ads, users, categories', version: '0.1.0' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          basicAuth: { type: 'http', scheme: 'basic' }
        }
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
