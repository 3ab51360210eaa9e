import { spawn, type ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort, type RedisServerHandle } from '../src/plugins/infra/redis-server.js'

// The bench harness. The server under test (`node dist/server.js`, as users run it), every bare baseline
// (bench/procs/bare-http.ts, bench/procs/bare-grpc.ts) and every load generator (the autocannon CLI,
// bench/procs/http-load.ts, bench/procs/grpc-load.ts) is its own OS process: no two of them share an event loop.
// This process only starts them, waits, and reads their JSON. Rounds are interleaved (baseline, ours, baseline,
// ours …); a figure is the median of its rounds with the spread (min–max) beside it.

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ADMIN_USER = 'admin'
export const ADMIN_PASSWORD = 'bench-admin-password'
export const ADMIN_BASIC = `Basic ${Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64')}`

export interface Sample { value: number, p50: number, p99: number }

export interface BenchResult {
  figure: string
  unit: string
  /** median of our rounds */
  ours: number
  ours_spread?: [number, number]
  baseline?: number
  baseline_spread?: [number, number]
  baselineName?: string
  /** median(ours) / median(baseline); for times and sizes lower is better, for rates higher is better */
  ratio?: number
  /** ms, medians over our rounds */
  p50?: number
  p99?: number
  baseline_p50?: number
  baseline_p99?: number
  rounds?: number
  target?: string
  note?: string
}

export interface HttpLoadSpec {
  url: string
  method?: string
  body?: string
  headers?: Record<string, string>
  /** replace `[<id>]` in the body by a fresh id per request (autocannon -I) */
  idReplacement?: boolean
  /** a file of paths, one per line, requested in turn (runs bench/procs/http-load.ts instead of the CLI) */
  pathsFile?: string
  duration?: number
  connections?: number
}

export interface HttpLoadResult { rps: number, p50: number, p99: number, errors: number, non2xx: number, total: number }

export interface Proc { child: ChildProcess, pid: number, stop (): Promise<void> }

export const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
export const spread = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)]
export const round3 = (n: number) => Math.round(n * 1000) / 1000
export const loadAverage = () => loadavg().map(x => Math.round(x * 100) / 100)

const TSX = ['--import', 'tsx']

/** Starts a child process; resolves once a stdout line matches `ready` (its match is returned). */
export async function startProc (args: string[], opts: {
  env?: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs?: number,
  name: string
}): Promise<Proc & { match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  let out = ''
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.name} not ready within ${opts.timeoutMs ?? 30000} ms`)),
      opts.timeoutMs ?? 30000)
    child.stdout!.on('data', (d) => {
      out += d
      const m = opts.ready.exec(out)
      if (m) { clearTimeout(timer); resolve(m) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${opts.name} exited (${code}) before ready`)) })
  })
  child.stdout!.resume()
  return { child, pid: child.pid!, match, stop: () => stopChild(child, exited) }
}

async function stopChild (child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])
  if (!done) { child.kill('SIGKILL'); await exited }
}

export interface BareHttp extends Proc { base: string }

/** A bare Fastify process (GET / hello; with bodyFile, GET /body answers that JSON). */
export async function startBareHttp (bodyFile?: string): Promise<BareHttp> {
  const port = await freePort()
  const p = await startProc([...TSX, 'bench/procs/bare-http.ts'], {
    name: 'bare Fastify', ready: /ready/, env: { PORT: String(port), ...(bodyFile ? { BODY_FILE: bodyFile } : {}) }
  })
  return { ...p, base: `http://127.0.0.1:${port}` }
}

/** A bare grpc-js process (bench.Echo bidi echo, Users client streams counting only). */
export async function startBareGrpc (): Promise<Proc & { address: string }> {
  const p = await startProc([...TSX, 'bench/procs/bare-grpc.ts'], { name: 'bare grpc-js', ready: /ready (\d+)/ })
  return { ...p, address: `127.0.0.1:${p.match[1]}` }
}

export interface Ours extends Proc { base: string, grpcAddress: string, startMs: number }

/** The built server, `node dist/server.js`, as its own process; resolves once /health/ready answers 200. */
export async function startOurs (env: Record<string, string>, opts: { nodeArgs?: string[] } = {}): Promise<Ours> {
  const httpPort = await freePort()
  const grpcPort = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), 'dist/server.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: 'warn',
      ADMIN_USER,
      ADMIN_PASSWORD,
      JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijkl',
      ADS_SIGNING_SECRET: 'bench-ads-signing-secret',
      // the bench measures throughput: no rate limit, no shedding by event-loop delay
      RATE_LIMIT_MAX: '1000000',
      ADS_RATE_LIMIT_MAX: '0',
      SESSIONS_RATE_LIMIT_MAX: '0',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const base = `http://127.0.0.1:${httpPort}`
  const end = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dist/server.js exited (${child.exitCode}) before ready`)
    if (await fetch(`${base}/health/ready`).then(r => r.ok, () => false)) break
    if (Date.now() > end) { await stopChild(child, exited); throw new Error('dist/server.js not ready within 60 s') }
    await sleep(20)
  }
  return {
    child,
    pid: child.pid!,
    base,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    startMs: performance.now() - t0,
    stop: () => stopChild(child, exited)
  }
}

async function runForJson (cmd: string, args: string[], name: string): Promise<any> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  const line = out.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line)
  } catch {
    throw new Error(`${name} exited ${code} without JSON: ${err.slice(-2000)}`)
  }
}

/**
 * One HTTP load, by the autocannon CLI (`node_modules/.bin/autocannon --json`) in its own process, or by
 * bench/procs/http-load.ts (autocannon's API in its own process) when requests draw paths from a list.
 */
export async function httpLoad (spec: HttpLoadSpec, defaults: { duration: number, connections: number }):
Promise<HttpLoadResult> {
  const duration = spec.duration ?? defaults.duration
  const connections = spec.connections ?? defaults.connections
  let r: any
  if (spec.pathsFile) {
    r = await runForJson(process.execPath, [...TSX, 'bench/procs/http-load.ts',
      JSON.stringify({ ...spec, duration, connections })], 'http-load')
  } else {
    const args = ['-c', String(connections), '-d', String(duration), '-j', '-m', spec.method ?? 'GET']
    if (spec.body !== undefined) args.push('-b', spec.body)
    if (spec.idReplacement) args.push('-I')
    for (const [k, v] of Object.entries(spec.headers ?? {})) args.push('-H', `${k}=${v}`)
    r = await runForJson(join(ROOT, 'node_modules/.bin/autocannon'), [...args, spec.url], 'autocannon')
  }
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total
  }
}

export interface GrpcLoadResult {
  msgsPerSec: number,
  p50: number,
  p99: number,
  count: number,
  startedAt: number,
  finishedAt: number
}

/** One gRPC load by bench/procs/grpc-load.ts in its own process (see there for the spec). */
export async function grpcLoad (spec: Record<string, unknown>): Promise<GrpcLoadResult> {
  return await runForJson(process.execPath, [...TSX, 'bench/procs/grpc-load.ts', JSON.stringify(spec)], 'grpc-load')
}

/** Rounds interleaved: baseline, ours, baseline, ours … (`rounds` of each). */
export async function interleave (rounds: number, baseline: (() => Promise<Sample>) | undefined,
  ours: () => Promise<Sample>): Promise<{ ours: Sample[], baseline: Sample[] }> {
  const out = { ours: [] as Sample[], baseline: [] as Sample[] }
  for (let i = 0; i < rounds; i++) {
    if (baseline) out.baseline.push(await baseline())
    out.ours.push(await ours())
  }
  return out
}

/** A figure from interleaved samples: medians, spreads, ratio of the medians. */
export function figure (f: {
  figure: string,
  unit: string,
  baselineName?: string,
  target?: string,
  note?: string,
  ours: Sample[],
  baseline: Sample[]
}): BenchResult {
  const o = f.ours.map(s => s.value)
  const b = f.baseline.map(s => s.value)
  const r: BenchResult = {
    figure: f.figure,
    unit: f.unit,
    ours: median(o),
    ours_spread: spread(o),
    rounds: o.length
  }
  // latencies only where the load measured them (a start time or a stored-end-to-end rate has none)
  const timed = [...f.ours, ...f.baseline].some(s => s.p50 > 0 || s.p99 > 0)
  if (timed) Object.assign(r, { p50: median(f.ours.map(s => s.p50)), p99: median(f.ours.map(s => s.p99)) })
  if (b.length > 0) {
    Object.assign(r, {
      baseline: median(b),
      baseline_spread: spread(b),
      baselineName: f.baselineName,
      ratio: round3(median(o) / median(b)),
      ...(timed
        ? { baseline_p50: median(f.baseline.map(s => s.p50)), baseline_p99: median(f.baseline.map(s => s.p99)) }
        : {})
    })
  }
  if (f.target) r.target = f.target
  if (f.note) r.note = f.note
  return r
}

export const httpSample = (r: HttpLoadResult): Sample => ({ value: r.rps, p50: r.p50, p99: r.p99 })

export interface BenchContext {
  redis: RedisServerHandle
  /** seconds per HTTP round */
  duration: number
  connections: number
  rounds: number
  httpLoad (spec: HttpLoadSpec): Promise<HttpLoadResult>
  /** an HTTP load that must answer only 2xx (throws otherwise, naming the figure) */
  httpLoadOk (name: string, spec: HttpLoadSpec): Promise<HttpLoadResult>
  /** a path of a scratch directory removed after the run */
  tmp (name: string): string
}
