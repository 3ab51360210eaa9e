// The reference for bench/start-time.ts: a bare Fastify process answering GET /health/ready (HTTP only).
import Fastify from 'fastify'
const app = Fastify()
app.get('/health/ready', async () => ({ status: 'ok' }))
await app.listen({ host: '127.0.0.1', port: Number(process.env.HTTP_PORT) })
