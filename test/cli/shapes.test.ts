import { createServer } from 'node:net'
import { PassThrough } from 'node:stream'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { allKeys, build, tempDir } from '../helpers/app.js'
import { perKey } from '../../src/plugins/infra/gather.js'
import { makeCerts } from '../grpc/certs.js'
import { shapesCommand } from '../../src/cli/shapes.js'

type Test = import('tap').Test

const certs = await makeCerts(await tempDir(t, 'playfield-shapes-cli-'))

async function tlsApp (t: Test): Promise<FastifyInstance> {
  const app = await build(t, { config: { GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: certs.serverKey } })
  await perKey(app.redis, await allKeys(app.redis), (pipeline, key) => { pipeline.del(key) })
  return app
}

/** Runs `playfield shapes …` with captured output; `input` feeds the interactive menu. */
async function run (args: string[], input = '') {
  const io = { input: new PassThrough(), output: new PassThrough(), error: new PassThrough() }
  let out = ''
  let err = ''
  io.output.on('data', (c) => { out += c })
  io.error.on('data', (c) => { err += c })
  io.input.end(input)
  const code = await shapesCommand(args, io)
  return { code, out, err }
}

const target = (app: FastifyInstance) => ['--address', `127.0.0.1:${app.grpc.port}`, '--ca', certs.ca]
const jsonLines = (out: string) => out.trim().split('\n').map(l => JSON.parse(l))

t.test('shapes create and get print one JSON answer each with a fresh correlation id', async (t) => {
  const app = await tlsApp(t)
  const created = await run([...target(app), 'create', 'rectangle'])
  t.equal(created.code, 0)
  const [c] = jsonLines(created.out)
  t.equal(c.status_code, 'OK')
  t.equal(c.shape.shape_id, 'R-0')
  t.equal(c.shape.shape_type, 'Rectangle')
  t.match(c.correlation_id, /^[0-9a-f-]{36}$/)
  const got = await run([...target(app), 'get', 'R-0'])
  const [g] = jsonLines(got.out)
  t.same(g.shape, c.shape)
  t.not(g.correlation_id, c.correlation_id)
  const missing = await run([...target(app), 'get', 'R-5'])
  t.equal(missing.code, 1, 'an answer other than OK exits 1')
  t.equal(jsonLines(missing.out)[0].status_code, 'SHAPE_NOT_FOUND')
})

t.test('perimeters, total-area and areas print the streamed answers', async (t) => {
  const app = await tlsApp(t)
  for (const type of ['Triangle', 'Rectangle']) await run([...target(app), 'create', type])
  const perimeters = await run([...target(app), 'perimeters', '0'])
  t.equal(perimeters.code, 0)
  t.same(jsonLines(perimeters.out).map(a => a.shape.shape_id).sort(), ['R-0', 'T-0'])
  const negative = await run([...target(app), 'perimeters', '--', '-1'])
  t.same(jsonLines(negative.out).map(a => a.status_code), ['INVALID_PERIMETER'])
  t.equal(negative.code, 1)
  const total = await run([...target(app), 'total-area', 'T-0', 'R-0', 'Q-1'])
  const [sum] = jsonLines(total.out)
  t.equal(sum.status_code, 'OK')
  t.same(sum.invalid_ids, [{ shape_id: 'Q-1' }])
  const areas = await run([...target(app), 'areas', 'R-0', 'T-0', 'T-9'])
  t.same(jsonLines(areas.out).map(a => a.status_code), ['OK', 'OK', 'SHAPE_NOT_FOUND'])
  t.equal(areas.code, 1)
  t.equal(jsonLines(areas.out)[0].area + jsonLines(areas.out)[1].area, sum.total_area)
})

t.test('the interactive menu creates, gets, measures and exits on E', async (t) => {
  const app = await tlsApp(t)
  const res = await run(target(app), ['c', 'pentagon', 'G', 'P-0', 'x', 'P', 'abc', 'T', 'P-0, P-1', 'A', 'P-0', 'E', ''].join('\n'))
  t.equal(res.code, 0)
  t.match(res.out, /C - Create a shape/)
  t.match(res.out, /\[OK\] Pentagon P-0 created — P-0 Pentagon \(0,0\) \(0,\d+\)/)
  t.match(res.out, /\[OK\] shape P-0 found — P-0 Pentagon/)
  t.match(res.out, /Unknown option "x": choose C, G, P, T, A or E\./)
  t.match(res.out, /"abc" is not a number/)
  t.match(res.out, /total area: [\d.]+\n {2}valid ids: P-0\n {2}invalid ids: P-1/)
  t.match(res.out, /\[OK\] area of P-0 — area [\d.]+ — P-0 Pentagon/)
  t.match(res.out, /Bye\.\n$/)
})

t.test('a server that is down gets a clear message after the configured health checks, exit code 2', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port
      srv.close(() => resolve(p))
    })
  })
  const res = await run(['--address', `127.0.0.1:${port}`, '--health-attempts', '2', 'create', 'Triangle'])
  t.equal(res.code, 2)
  t.equal(res.out, '')
  t.match(res.err, new RegExp(`shapes server at 127\\.0\\.0\\.1:${port} is not available .*gave up after 2 health check\\(s\\)\\. Is the server running\\?`))
})

t.test('a wrong signature is reported as a refused call', async (t) => {
  const app = await tlsApp(t)
  const res = await run([...target(app), '--signature', 'nope', 'create', 'Triangle'])
  t.equal(res.code, 2)
  t.equal(res.err, 'playfield shapes: the server refused the call: invalid "x-signature" (check --signature)\n')
})
