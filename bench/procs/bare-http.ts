import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

// A bare Fastify process, the HTTP baseline: GET / answers {"hello":"world"}; with BODY_FILE, GET /body answers the
// JSON in that file (parsed once, serialised by Fastify on every request, no schema), for figures whose answer is
// large. Listens on 127.0.0.1:PORT and prints "ready" once listening. No logger, no hooks, no plugins.

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
if (process.env.BODY_FILE) {
  const body: unknown = JSON.parse(readFileSync(process.env.BODY_FILE, 'utf8'))
  app.get('/body', async () => body)
}
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.stdout.write('ready\n')
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
