import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Metadata, status, type Client } from '@grpc/grpc-js'
import { build, deadline, grpcClient, privateRedis, testConfig } from '../helpers/app.js'
import { Health as HealthClient } from '../../src/grpc/contract.js'
import { InvalidArgumentError } from '../../src/errors.js'

type HealthStub = Client & {
  check (req: { service: string }, md: Metadata, opts: object, cb: (err: any, res: { status: string }) => void): void
  watch (req: { service: string }, md?: Metadata): NodeJS.EventEmitter & { cancel (): void }
}

function check (client: HealthStub, service = '', md = new Metadata()): Promise<{ status: string, metadata?: Metadata }> {
  return new Promise((resolve, reject) => {
    let metadata: Metadata | undefined
    const call = (client as any).check({ service }, md, { deadline: deadline() }, (err: any, res: any) => {
      if (err) reject(err)
      else resolve({ status: res.status, metadata })
    })
    call.on('metadata', (m: Metadata) => { metadata = m })
  })
}

async function waitFor (predicate: () => Promise<boolean>, timeoutMs = 8000) {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await predicate()) return true
    await sleep(50)
  }
  return false
}

t.test('GET /health/live and /health/ready answer 200 with Redis up', async (t) => {
  const app = await build(t)
  const live = await app.inject('/health/live')
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', shuttingDown: false, checks: { redis: 'up' } })
})

t.test('grpc.health.v1 Check reports SERVING overall and NOT_FOUND for an unknown service', async (t) => {
  const app = await build(t)
  const client = grpcClient<HealthStub>(t, app, HealthClient)
  t.equal((await check(client, '')).status, 'SERVING')
  await t.rejects(check(client, 'no.Such'), { code: status.NOT_FOUND })
})

t.test('a correlation id sent over HTTP comes back and a missing one is minted', async (t) => {
  const app = await build(t)
  const sent = await app.inject({ url: '/health/live', headers: { 'x-correlation-id': 'corr-123' } })
  t.equal(sent.headers['x-correlation-id'], 'corr-123')
  const viaRequestId = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'req-456' } })
  t.equal(viaRequestId.headers['x-correlation-id'], 'req-456')
  const minted = await app.inject('/health/live')
  t.match(minted.headers['x-correlation-id'], /^[0-9a-f-]{36}$/)
  const unsafe = await app.inject({ url: '/health/live', headers: { 'x-correlation-id': 'bad id\twith spaces' } })
  t.match(unsafe.headers['x-correlation-id'], /^[0-9a-f-]{36}$/)
})

t.test('a correlation id sent over gRPC comes back in the initial metadata, and is minted when absent', async (t) => {
  const app = await build(t)
  const client = grpcClient<HealthStub>(t, app, HealthClient)
  const md = new Metadata()
  md.set('x-correlation-id', 'grpc-corr-1')
  const echoed = await check(client, '', md)
  t.same(echoed.metadata?.get('x-correlation-id'), ['grpc-corr-1'])
  const minted = await check(client, '')
  t.match(String(minted.metadata?.get('x-correlation-id')[0]), /^[0-9a-f-]{36}$/)
})

t.test('errors map to { message, code } and faults hide their internals', async (t) => {
  const app = await build(t, { ready: false })
  app.get('/test/invalid', async () => { throw new InvalidArgumentError('page must be >= 0') })
  app.get('/test/fault', async () => { throw new Error('secret stack detail') })
  await app.ready()
  const invalid = await app.inject('/test/invalid')
  t.equal(invalid.statusCode, 400)
  t.same(invalid.json(), { message: 'page must be >= 0', code: 'PLAYFIELD_INVALID_ARGUMENT' })
  const fault = await app.inject('/test/fault')
  t.equal(fault.statusCode, 500)
  t.same(fault.json(), { message: 'internal server error', code: 'PLAYFIELD_INTERNAL' })
  const missing = await app.inject('/nope')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'PLAYFIELD_NOT_FOUND')
  const badJson = await app.inject({ method: 'POST', url: '/test/invalid', headers: { 'content-type': 'application/json' }, payload: '{' })
  t.ok(badJson.statusCode >= 400 && badJson.statusCode < 500, `bad JSON is a 4xx (got ${badJson.statusCode})`)
})

t.test('GET /metrics exposes HTTP request counts with the route pattern', async (t) => {
  const app = await build(t)
  await app.inject('/health/live')
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.body, /playfield_http_requests_total\{method="GET",route="\/health\/live",status="200"\} 1/)
  t.match(res.body, /playfield_process_cpu_user_seconds_total/)
})

t.test('GET /docs/json serves the OpenAPI document', async (t) => {
  const app = await build(t)
  const res = await app.inject('/docs/json')
  t.equal(res.statusCode, 200)
  t.equal(res.json().openapi.startsWith('3.'), true)
  t.ok(res.json().paths['/health/ready'])
})

t.test('readiness and gRPC health flip when Redis stops and come back when it restarts', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { config: { REDIS_URL: redis.url } })
  const client = grpcClient<HealthStub>(t, app, HealthClient)
  const seen: string[] = []
  const watch = client.watch({ service: '' })
  watch.on('data', (m: { status: string }) => seen.push(m.status))
  watch.on('error', () => {})
  t.teardown(() => watch.cancel())

  t.equal((await app.inject('/health/ready')).statusCode, 200)
  await redis.stop()
  const down = await app.inject('/health/ready')
  t.equal(down.statusCode, 503)
  t.same(down.json().checks, { redis: 'down' })
  t.ok(await waitFor(async () => (await check(client)).status === 'NOT_SERVING'), 'gRPC Check turns NOT_SERVING')

  await redis.restart()
  t.ok(await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200), 'ready again after restart')
  t.ok(await waitFor(async () => (await check(client)).status === 'SERVING'), 'gRPC Check SERVING again')
  t.ok(await waitFor(async () => seen.join(',') === 'SERVING,NOT_SERVING,SERVING'), `Watch saw ${seen.join(',')}`)
})

t.test('closing the app while Redis is unreachable ends within SHUTDOWN_TIMEOUT_MS', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { config: { REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '1000' } })
  t.ok(app.queues.workersEnabled, 'workers with blocking connections are running')
  await redis.stop()
  const started = Date.now()
  await app.close()
  const took = Date.now() - started
  t.ok(took < 1000 + 3000, `closed in ${took} ms`)
})

t.test('graceful shutdown lets a slow in-flight request finish and ends Watch streams with NOT_SERVING', async (t) => {
  const app = await build(t, { ready: false })
  app.get('/test/slow', async () => { await sleep(400); return { done: true } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const client = grpcClient<HealthStub>(t, app, HealthClient)
  const seen: string[] = []
  const watch = client.watch({ service: '' })
  const watchEnded = new Promise<void>((resolve) => { watch.on('end', resolve); watch.on('error', () => resolve()) })
  watch.on('data', (m: { status: string }) => seen.push(m.status))
  await waitFor(async () => seen.length > 0)

  const slow = new Promise<{ status: number, body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/test/slow' }, (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject).end()
  })
  await sleep(100)
  const started = Date.now()
  await app.close()
  const res = await slow
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { done: true })
  t.ok(Date.now() - started >= 250, 'close waited for the request')
  await watchEnded
  t.same(seen, ['SERVING', 'NOT_SERVING'])
})

t.test('gRPC reflection lists every registered service and describes package-less ones', async (t) => {
  const app = await build(t)
  const { loadSync } = await import('@grpc/proto-loader')
  const { loadPackageDefinition } = await import('@grpc/grpc-js')
  const protoPath = fileURLToPath(import.meta.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'))
  const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true })) as any
  const client = grpcClient<any>(t, app, pkg.grpc.reflection.v1.ServerReflection)
  const call = client.serverReflectionInfo({ deadline: deadline() })
  const ask = (request: object) => new Promise<any>((resolve, reject) => {
    call.once('data', resolve)
    call.once('error', reject)
    call.write(request)
  })
  const listed = await ask({ list_services: '' })
  const names = listed.list_services_response.service.map((s: { name: string }) => s.name).sort()
  t.same(names, ['Users', 'ShapeService', 'grpc.health.v1.Health', 'leaderboard.LeaderBoard'].sort())
  for (const symbol of ['ShapeService', 'Users', 'leaderboard.LeaderBoard']) {
    const described = await ask({ file_containing_symbol: symbol })
    t.ok(described.file_descriptor_response?.file_descriptor_proto?.length > 0, `${symbol} is described`)
  }
  call.end()
})

t.test('GET /metrics counts gRPC calls by method and status code', async (t) => {
  const app = await build(t)
  const client = grpcClient<HealthStub>(t, app, HealthClient)
  await check(client, '')
  await t.rejects(check(client, 'no.Such'))
  const body = (await app.inject('/metrics')).body
  t.match(body, /playfield_grpc_requests_total\{method="\/grpc\.health\.v1\.Health\/Check",code="OK"\} 1/)
  t.match(body, /playfield_grpc_requests_total\{method="\/grpc\.health\.v1\.Health\/Check",code="NOT_FOUND"\} 1/)
  const histogram = 'playfield_grpc_request_duration_seconds_count'
  t.match(body, new RegExp(`${histogram}\\{method="/grpc\\.health\\.v1\\.Health/Check",code="OK"\\} 1`))
})

t.test('an unexpected gRPC handler fault is INTERNAL without internals, logged with the call\'s correlation id', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { loadSync } = await import('@grpc/proto-loader')
  const { loadPackageDefinition } = await import('@grpc/grpc-js')
  const { options, default: appPlugin } = await import('../../src/app.js')
  const lines: Array<Record<string, unknown>> = []
  const config = await testConfig({ LOG_LEVEL: 'info' })
  const opts = options(config)
  const stream = { write: (l: string) => lines.push(JSON.parse(l)) }
  const fastify = Fastify({ ...opts, logger: { ...(opts.logger as object), stream } })
  t.teardown(() => fastify.close())
  await fastify.register(appPlugin, { config })
  const packageDefinition = loadSync(fileURLToPath(new URL('../../bench/echo.proto', import.meta.url)), { keepCase: true })
  const Echo = (loadPackageDefinition(packageDefinition) as any).bench.Echo
  fastify.grpc.addService(Echo.service, {
    Echo (call: NodeJS.EventEmitter) { call.on('data', () => call.emit('error', new Error('secret detail of a fault'))) }
  }, { name: 'bench.Echo', packageDefinition })
  await fastify.ready()
  const client = grpcClient<any>(t, fastify, Echo)
  const md = new Metadata()
  md.set('x-correlation-id', 'fault-corr-1')
  const call = client.Echo(md, { deadline: deadline() })
  const err = await new Promise<any>((resolve) => {
    call.on('error', resolve)
    call.on('data', () => {})
    call.write({ name: 'x', score: 1 })
  })
  t.equal(err.code, status.INTERNAL)
  t.equal(err.details, 'internal error')
  const logged = lines.find(l => l.msg === 'unexpected error in grpc handler')
  t.equal(logged?.correlationId, 'fault-corr-1')
  t.equal(logged?.details, 'secret detail of a fault', 'the details go to the log, not to the client')
})
