import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedisServer } from '../src/plugins/infra/redis-server.js'

// Start time and idle RSS of the built server, each start its own OS process:
//   npm run build && npx tsx bench/start-time.ts [runs=7] [entry=dist/server.js]
//   npx tsx bench/start-time.ts 7 bench/bare-fastify-start.mjs    (the bare Fastify reference: HTTP only)
// Time = spawn until GET /health/ready answers 200 and the gRPC port accepts a connection (REDIS_URL set, a private
// redis-server on a free loopback port); CPU = user + system time of the server process until then.
// RSS = VmRSS of the server process after 3 s idle. Prints median and spread.

const runs = Number(process.argv[2] ?? 7)
const entry = process.argv[3] ?? 'dist/server.js'
const httpOnly = entry.includes('bare-fastify')

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port')))
    })
  })
}

const tcpOpen = (port: number) => new Promise<boolean>(resolve => {
  const c = connect(port, '127.0.0.1')
  c.once('connect', () => { c.destroy(); resolve(true) })
  c.once('error', () => resolve(false))
})

async function httpReady (port: number): Promise<boolean> {
  try { return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200 } catch { return false }
}

/** CPU time (user + system) the process used so far, in ms: less sensitive to a busy machine than wall time. */
async function cpuMs (pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10 // clock ticks of 10 ms (USER_HZ 100)
}

async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

const stop = (child: ChildProcess) => new Promise<void>(resolve => {
  if (child.exitCode !== null) { resolve(); return }
  child.once('exit', () => resolve())
  child.kill('SIGTERM')
})

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

const dir = await mkdtemp(join(tmpdir(), 'playfield-start-'))
const redis = await startRedisServer({ dir, aof: false })
const times: number[] = []
const rss: number[] = []
const cpu: number[] = []
try {
  for (let i = 0; i < runs; i++) {
    const [httpPort, grpcPort] = [await freePort(), await freePort()]
    const t0 = performance.now()
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, REDIS_URL: redis.url, HTTP_PORT: String(httpPort), GRPC_PORT: String(grpcPort), LOG_LEVEL: 'warn', NODE_ENV: 'development', ADMIN_USER: 'admin', ADMIN_PASSWORD: 'bench-admin-password' },
      stdio: ['ignore', 'ignore', 'inherit']
    })
    let ms = NaN
    const deadline = t0 + 60_000
    while (performance.now() < deadline && child.exitCode === null) {
      if (await httpReady(httpPort) && (httpOnly || await tcpOpen(grpcPort))) {
        ms = performance.now() - t0
        cpu.push(await cpuMs(child.pid!))
        break
      }
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    await new Promise(resolve => setTimeout(resolve, 3000))
    const mem = child.exitCode === null ? await rssMiB(child.pid!) : NaN
    await stop(child)
    times.push(ms)
    rss.push(mem)
    process.stdout.write(`run ${i + 1}: ready in ${ms.toFixed(0)} ms (CPU ${cpu.at(-1)} ms), idle RSS ${mem.toFixed(1)} MiB\n`)
  }
} finally {
  await redis.stop()
  await rm(dir, { recursive: true, force: true })
}
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`
process.stdout.write(`${entry}: ready median ${median(times).toFixed(0)} ms (${spread(times)}), CPU to ready median ` +
  `${median(cpu).toFixed(0)} ms (${spread(cpu)}), idle RSS median ${median(rss).toFixed(1)} MiB (${spread(rss)}) over ${runs} starts\n`)
