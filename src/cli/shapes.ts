import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  Channel, Metadata, status as GrpcStatus,
  type ClientDuplexStream, type ClientReadableStream, type ClientWritableStream, type ServiceError
} from '@grpc/grpc-js'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { Health, ShapeService } from '../grpc/contract.js'
import { clientCredentials } from '../grpc/credentials.js'
import { send } from '../grpc/streams.js'

// The ShapeService console client: an interactive menu like the original's plus subcommands for scripts.
// Every call carries the signature and a fresh correlation id, is preceded by a health check, and is retried
// by the gRPC service config below (transient UNAVAILABLE / DEADLINE_EXCEEDED) rather than by hand.

export const SHAPES_SERVICE_CONFIG = {
  methodConfig: [{
    name: [{ service: 'ShapeService' }],
    retryPolicy: {
      maxAttempts: 5,
      initialBackoff: '0.1s',
      maxBackoff: '1s',
      backoffMultiplier: 2,
      retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED']
    },
    timeout: '15s'
  }]
}

export interface WireShape { shape_id: string, shape_type: string, coords: Array<{ x?: number, y?: number }> }
interface Answer { status_code: string, message: string }
export interface ShapeAnswer extends Answer { shape?: WireShape | null }
export interface PerimeterAnswer extends ShapeAnswer { perimeter?: number }
export interface AreaAnswer extends ShapeAnswer { area?: number }
export interface TotalAreaAnswer extends Answer {
  total_area?: number, valid_ids: Array<{ shape_id: string }>, invalid_ids: Array<{ shape_id: string }>
}

export interface ShapesClientOptions {
  address: string
  caFile?: string
  certFile?: string
  keyFile?: string
  /** Overrides the name checked against the server certificate (default: the host of `address`). */
  serverName?: string
  signature: string
  /** Failed health checks tolerated before a call gives up (the channel is recreated after every second one). */
  healthCheckAttempts?: number
  healthCheckDelayMs?: number
  healthCheckTimeoutMs?: number
  /** Extra channel options (tests, tuning); the service config is always applied unless overridden here. */
  channelOptions?: Record<string, unknown>
  /** Told the correlation id of every call, for logging. */
  onCall?: (method: string, correlationId: string) => void
}

/** The server could not be reached or is not serving ShapeService. */
export class ServerDownError extends Error {
  override name = 'ServerDownError'
}

export function createShapesClient (opts: ShapesClientOptions) {
  const creds = clientCredentials({ ca: opts.caFile, cert: opts.certFile, key: opts.keyFile })
  const attempts = Math.max(1, opts.healthCheckAttempts ?? 3)
  const channelOptions: Record<string, unknown> = {
    'grpc.service_config': JSON.stringify(SHAPES_SERVICE_CONFIG),
    'grpc.enable_retries': 1,
    // A private subchannel pool, so "recreate the channel" really opens a new connection.
    'grpc.use_local_subchannel_pool': 1,
    ...(opts.serverName ? { 'grpc.ssl_target_name_override': opts.serverName, 'grpc.default_authority': opts.serverName } : {}),
    ...opts.channelOptions
  }
  let channel!: Channel
  let shapes!: any
  let health!: any
  function connect () {
    channel = new Channel(opts.address, creds, channelOptions)
    shapes = new ShapeService(opts.address, creds, { channelOverride: channel })
    health = new Health(opts.address, creds, { channelOverride: channel })
  }
  function close () {
    shapes.close()
    health.close()
    channel.close()
  }
  connect()

  function checkOnce (): Promise<string | undefined> {
    return new Promise((resolve) => {
      const deadline = new Date(Date.now() + (opts.healthCheckTimeoutMs ?? 2000))
      health.check({ service: 'ShapeService' }, new Metadata(), { deadline }, (err: ServiceError | null, res?: { status: string }) => {
        if (err) resolve(`${GrpcStatus[err.code] ?? err.code}: ${err.details}`)
        else resolve(res?.status === 'SERVING' ? undefined : `ShapeService is ${res?.status}`)
      })
    })
  }

  async function ensureHealthy (): Promise<void> {
    for (let failures = 1; ; failures++) {
      const problem = await checkOnce()
      if (problem === undefined) return
      if (failures >= attempts) {
        throw new ServerDownError(`shapes server at ${opts.address} is not available (${problem}); gave up after ${failures} health check(s)`)
      }
      if (failures % 2 === 0) {
        close()
        connect()
      }
      await sleep(opts.healthCheckDelayMs ?? 500)
    }
  }

  function metadata (method: string, methodType: string): Metadata {
    const md = new Metadata()
    const correlationId = randomUUID()
    md.set('x-signature', opts.signature)
    md.set('x-correlation-id', correlationId)
    md.set('x-method-type', methodType)
    opts.onCall?.(method, correlationId)
    return md
  }

  function unaryCall<Res> (method: string, request: unknown): Promise<Res> {
    return new Promise((resolve, reject) => {
      shapes[method](request, metadata(method, 'unary'), (err: ServiceError | null, res: Res) => {
        if (err) reject(err)
        else resolve(res)
      })
    })
  }

  // Feeds ids into a client stream honouring backpressure, then half-closes.
  async function feed (call: ClientWritableStream<unknown> | ClientDuplexStream<unknown, unknown>,
    ids: Iterable<string> | AsyncIterable<string>) {
    for await (const id of ids) {
      await send(call, { shape_id: id })
    }
    call.end()
  }

  async function * drain<T> (call: ClientReadableStream<T> | ClientDuplexStream<unknown, T>): AsyncGenerator<T> {
    try {
      for await (const msg of call) yield msg as T
    } finally {
      // The consumer stopped early (or failed): tell the server to stop streaming.
      call.cancel()
    }
  }

  return {
    ensureHealthy,
    close,

    async createShape (shapeType: string): Promise<ShapeAnswer> {
      await ensureHealthy()
      return await unaryCall('CreateShape', { shape_type: shapeType })
    },

    async getShape (shapeId: string): Promise<ShapeAnswer> {
      await ensureHealthy()
      return await unaryCall('GetShape', { shape_id: shapeId })
    },

    async * perimeters (minPerimeter: number): AsyncGenerator<PerimeterAnswer> {
      await ensureHealthy()
      const md = metadata('GetPerimetersGreaterThan', 'server_streaming')
      yield * drain<PerimeterAnswer>(shapes.GetPerimetersGreaterThan({ min_perimeter: minPerimeter }, md))
    },

    async totalArea (ids: Iterable<string> | AsyncIterable<string>): Promise<TotalAreaAnswer> {
      await ensureHealthy()
      let call!: ClientWritableStream<unknown>
      const answer = new Promise<TotalAreaAnswer>((resolve, reject) => {
        call = shapes.GetTotalArea(metadata('GetTotalArea', 'client_streaming'), (err: ServiceError | null, res: TotalAreaAnswer) => {
          if (err) reject(err)
          else resolve(res)
        })
      })
      await Promise.all([feed(call, ids), answer])
      return await answer
    },

    async * areas (ids: Iterable<string> | AsyncIterable<string>): AsyncGenerator<AreaAnswer> {
      await ensureHealthy()
      const call: ClientDuplexStream<unknown, AreaAnswer> = shapes.GetAreas(metadata('GetAreas', 'bidi_streaming'))
      // Writing runs alongside reading so answers print as they come; a write failure surfaces on the read side.
      feed(call, ids).catch(() => call.cancel())
      yield * drain<AreaAnswer>(call)
    }
  }
}

export type ShapesClient = ReturnType<typeof createShapesClient>

const env = process.env

/**
 * The message as the contract defines it: without the virtual `_x` / `_shape` fields the proto loader adds for
 * proto3 `optional` fields (their synthetic oneofs), which are no part of the answer.
 */
export function publicFields (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(publicFields)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('_')).map(([k, v]) => [k, publicFields(v)]))
}

/** A message for a person: what failed and what to do, without a stack. */
export function describeError (err: unknown, address: string): string {
  if (err instanceof ServerDownError) return `${err.message}. Is the server running?`
  const e = err as Partial<ServiceError>
  if (typeof e?.code === 'number') {
    switch (e.code) {
      case GrpcStatus.UNAVAILABLE:
        return `shapes server at ${address} is unavailable (${e.details}). Is the server running?`
      case GrpcStatus.UNAUTHENTICATED:
        return `the server refused the call: ${e.details} (check --signature)`
      case GrpcStatus.DEADLINE_EXCEEDED:
        return `the server did not answer in time (${e.details})`
      default:
        return `call failed with ${GrpcStatus[e.code] ?? e.code}: ${e.details}`
    }
  }
  return (err as Error)?.message ?? String(err)
}

// ── console rendering ───────────────────────────────────────────────────────────────────────────────────────────

const round = (n: number) => Math.round(n * 100) / 100
const describeShape = (s: WireShape) =>
  `${s.shape_id} ${s.shape_type} ${s.coords.map(c => `(${c.x ?? 0},${c.y ?? 0})`).join(' ')}`

function render (a: ShapeAnswer & { perimeter?: number, area?: number }): string {
  const parts = [`[${a.status_code}] ${a.message}`]
  if (a.perimeter !== undefined && a.perimeter !== null && a.shape) parts.push(`perimeter ${round(a.perimeter)}`)
  if (a.area !== undefined && a.area !== null && a.shape) parts.push(`area ${round(a.area)}`)
  if (a.shape) parts.push(describeShape(a.shape))
  return parts.join(' — ')
}

function renderTotal (a: TotalAreaAnswer): string {
  const lines = [`[${a.status_code}] ${a.message}`]
  if (a.status_code === 'OK' && a.total_area !== undefined) lines.push(`  total area: ${round(a.total_area)}`)
  lines.push(`  valid ids: ${a.valid_ids.map(i => i.shape_id).join(', ') || '-'}`)
  lines.push(`  invalid ids: ${a.invalid_ids.map(i => i.shape_id).join(', ') || '-'}`)
  return lines.join('\n')
}

const splitIds = (raw: string) => raw.split(/[\s,]+/).filter(Boolean)

export interface ShapesIo {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  error?: NodeJS.WritableStream
}

const processIo: ShapesIo = { input: process.stdin, output: process.stdout, error: process.stderr }

const MENU = [
  '',
  'Shapes menu:',
  '  C - Create a shape',
  '  G - Get a shape',
  '  P - Perimeters greater than',
  '  T - Total area',
  '  A - Areas',
  '  E - Exit',
  ''
].join('\n')

/** The interactive menu: reads choices line by line from io.input until E or end of input. */
export async function interactive (client: ShapesClient, io: ShapesIo, address: string): Promise<void> {
  const rl = createInterface({ input: io.input, terminal: false })
  const lines = rl[Symbol.asyncIterator]()
  const out = (s: string) => { io.output.write(s + '\n') }
  const ask = async (prompt: string): Promise<string | undefined> => {
    io.output.write(prompt)
    const next = await lines.next()
    return next.done ? undefined : String(next.value).trim()
  }
  try {
    for (;;) {
      out(MENU)
      const choice = await ask('Choose an option: ')
      if (choice === undefined) return
      try {
        switch (choice.toUpperCase()) {
          case 'C': {
            const type = await ask('Shape type (Triangle, Rectangle, Pentagon): ')
            if (type === undefined) return
            out(render(await client.createShape(type)))
            break
          }
          case 'G': {
            const id = await ask('Shape id (e.g. T-0): ')
            if (id === undefined) return
            out(render(await client.getShape(id)))
            break
          }
          case 'P': {
            const raw = await ask('Minimum perimeter: ')
            if (raw === undefined) return
            const min = Number(raw)
            if (raw === '' || !Number.isFinite(min)) {
              out(`"${raw}" is not a number`)
              break
            }
            for await (const a of client.perimeters(min)) out(render(a))
            break
          }
          case 'T': {
            const raw = await ask('Shape ids (separated by spaces or commas): ')
            if (raw === undefined) return
            out(renderTotal(await client.totalArea(splitIds(raw))))
            break
          }
          case 'A': {
            const raw = await ask('Shape ids (separated by spaces or commas): ')
            if (raw === undefined) return
            for await (const a of client.areas(splitIds(raw))) out(render(a))
            break
          }
          case 'E':
            out('Bye.')
            return
          default:
            out(`Unknown option "${choice}": choose C, G, P, T, A or E.`)
        }
      } catch (err) {
        out(`Error: ${describeError(err, address)}`)
      }
    }
  } finally {
    rl.close()
  }
}

interface CommonOptions {
  address: string
  ca?: string
  cert?: string
  key?: string
  serverName?: string
  signature: string
  healthAttempts: number
}

function positiveInt (raw: string): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer')
  return n
}

function finiteNumber (raw: string): number {
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number')
  return n
}

/**
 * Adds `shapes` to a commander program: the interactive menu without a subcommand; `create`, `get`, `perimeters`,
 * `total-area` and `areas` print one JSON object per answer (with its correlation id) for scripts.
 * `onExit` receives the exit code: 0 all OK, 1 an application status other than OK, 2 a failed call.
 */
export function registerShapesCommand (program: Command, io: ShapesIo = processIo,
  onExit: (code: number) => void = (code) => { if (code !== 0) process.exitCode = code }): Command {
  const shapes = program.command('shapes')
    .description('ShapeService console client (interactive menu when no subcommand is given)')
    // The same PLAYFIELD_* variables as every other client command (src/cli/options.ts).
    .option('--address <host:port>', 'gRPC server address (env PLAYFIELD_GRPC_ADDRESS)', env.PLAYFIELD_GRPC_ADDRESS ?? '127.0.0.1:50051')
    .option('--ca <file>', 'PEM CA certificate: connect with TLS (env PLAYFIELD_CA)', env.PLAYFIELD_CA)
    .option('--cert <file>', 'PEM client certificate, mutual TLS (env PLAYFIELD_CERT)', env.PLAYFIELD_CERT)
    .option('--key <file>', 'PEM client private key, mutual TLS (env PLAYFIELD_KEY)', env.PLAYFIELD_KEY)
    .option('--server-name <name>', 'name expected in the server certificate')
    .option('--signature <signature>', 'x-signature sent with every call (env PLAYFIELD_SIGNATURE)',
      env.PLAYFIELD_SIGNATURE ?? 'playfield-signature')
    .option('--health-attempts <n>', 'failed health checks before giving up', positiveInt, 3)

  let lastCorrelationId = ''
  const open = (command: Command) => {
    const o = command.optsWithGlobals<CommonOptions>()
    const client = createShapesClient({
      address: o.address,
      caFile: o.ca,
      certFile: o.cert,
      keyFile: o.key,
      serverName: o.serverName,
      signature: o.signature,
      healthCheckAttempts: o.healthAttempts,
      onCall: (_method, id) => { lastCorrelationId = id }
    })
    return { client, address: o.address }
  }
  const print = (answer: object) => {
    io.output.write(JSON.stringify({ correlation_id: lastCorrelationId, ...publicFields(answer) as object }) + '\n')
    return (answer as Answer).status_code === 'OK' ? 0 : 1
  }
  // Runs one scripted call: JSON on output, a readable message on error output, the exit code to onExit.
  const run = (body: (client: ShapesClient) => Promise<number>) => async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command
    const { client, address } = open(command)
    try {
      onExit(await body(client))
    } catch (err) {
      (io.error ?? io.output).write(`playfield shapes: ${describeError(err, address)}\n`)
      onExit(2)
    } finally {
      client.close()
    }
  }
  const streamed = async (answers: AsyncIterable<object>) => {
    let code = 0
    for await (const a of answers) code = Math.max(code, print(a))
    return code
  }

  shapes.action(async (_opts: unknown, command: Command) => {
    const { client, address } = open(command)
    try {
      await interactive(client, io, address)
      onExit(0)
    } finally {
      client.close()
    }
  })
  shapes.command('create <type>').description('create a Triangle, Rectangle or Pentagon')
    .action((type: string, ...rest: unknown[]) => run(async (c) => print(await c.createShape(type)))(...rest))
  shapes.command('get <id>').description('get a shape by id (T-0, R-1…)')
    .action((id: string, ...rest: unknown[]) => run(async (c) => print(await c.getShape(id)))(...rest))
  shapes.command('perimeters').description('stream shapes whose perimeter is greater than <min>')
    .argument('<min>', 'minimum perimeter (exclusive); put -- before a negative number', finiteNumber)
    .action((min: number, ...rest: unknown[]) => run(async (c) => streamed(c.perimeters(min)))(...rest))
  shapes.command('total-area <ids...>').description('total area of the given shape ids')
    .action((ids: string[], ...rest: unknown[]) => run(async (c) => print(await c.totalArea(ids)))(...rest))
  shapes.command('areas <ids...>').description('area of each given shape id, streamed')
    .action((ids: string[], ...rest: unknown[]) => run(async (c) => streamed(c.areas(ids)))(...rest))
  return shapes
}

/** Runs `playfield shapes <argv…>` on the given streams and resolves with the exit code. */
export async function shapesCommand (argv: string[], io: ShapesIo = processIo): Promise<number> {
  let exitCode = 0
  const program = new Command('playfield').exitOverride().configureOutput({
    writeOut: (s) => { io.output.write(s) },
    writeErr: (s) => { (io.error ?? io.output).write(s) }
  })
  registerShapesCommand(program, io, (code) => { exitCode = code })
  try {
    await program.parseAsync(['shapes', ...argv], { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    throw err
  }
  return exitCode
}
