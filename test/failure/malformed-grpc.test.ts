import t from 'tap'
import fc from 'fast-check'
import { Client, credentials, Metadata, status } from '@grpc/grpc-js'
import { build, deadline } from '../helpers/app.js'

// 1,000 malformed payloads spread over every registered gRPC method, sent with valid credentials so they reach
// decoding and the handlers: no INTERNAL/UNKNOWN, no crash, memory bounded.

const identity = (b: Buffer) => b

// Hand-made protobuf nasties beside the random bytes: wrong wire types, truncated varints, lengths far past the
// end, groups, deeply nested length-delimited fields.
const crafted: Buffer[] = [
  Buffer.from([0x0f]), Buffer.from([0x08]),
  Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0x12, 0xff, 0xff, 0xff, 0x7f, 0x41]), Buffer.from([0x0b, 0x0c]),
  Buffer.from([0x1a, 0x05, 0xc3, 0x28, 0xa0, 0xa1, 0xff]),
  Buffer.concat(Array.from({ length: 200 }, () => Buffer.from([0x1a, 0x7f]))), Buffer.alloc(0)
]

function call (client: Client, path: string, payload: Buffer, md: Metadata): Promise<number> {
  return new Promise((resolve) => {
    const stream = client.makeBidiStreamRequest(path, identity, identity, md, { deadline: deadline(5000) })
    stream.on('data', () => {})
    stream.on('error', () => {})
    stream.on('status', (s) => resolve(s.code))
    stream.write(payload)
    stream.end()
  })
}

t.test('1,000 malformed gRPC payloads never produce INTERNAL or UNKNOWN and leave the server healthy', async (t) => {
  const app = await build(t, { config: { SHAPES_SIGNATURE: 'sig-for-tests' } })
  const methods = app.grpc.methods()
  t.ok(methods.length >= 5, `${methods.length} methods registered`)
  const md = new Metadata()
  md.set('authorization', `Bearer ${await app.auth.issueToken('admin')}`)
  md.set('x-signature', 'sig-for-tests')
  const client = new Client(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure())
  t.teardown(() => client.close())

  const runs = 1000 - crafted.length
  const random = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 512 }), { numRuns: runs, seed: 42 })
  const payloads = [...crafted, ...random.map(a => Buffer.from(a))]
  const heapBefore = process.memoryUsage().heapUsed
  const codes = new Map<number, number>()
  for (let i = 0; i < payloads.length; i += 20) {
    const paths = payloads.slice(i, i + 20).map((_p, j) => methods[(i + j) % methods.length]!.path)
    const batch = payloads.slice(i, i + 20).map((p, j) => call(client, paths[j]!, p, md))
    for (const code of await Promise.all(batch)) codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  t.comment(`status codes: ${JSON.stringify(Object.fromEntries([...codes].map(([c, n]) => [status[c], n])))}`)
  t.equal(codes.get(status.INTERNAL) ?? 0, 0, 'no INTERNAL')
  t.equal(codes.get(status.UNKNOWN) ?? 0, 0, 'no UNKNOWN')
  t.equal([...codes.values()].reduce((a, b) => a + b, 0), 1000)
  t.ok(process.memoryUsage().heapUsed - heapBefore < 200 * 1024 * 1024, 'heap growth bounded')
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'still ready')
})
