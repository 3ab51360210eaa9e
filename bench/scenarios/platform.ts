import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { credentials } from '@grpc/grpc-js'
import { freePort } from '../../src/plugins/infra/redis-server.js'
import { Health as HealthClient } from '../../src/grpc/contract.js'
import { ratioOf, type BenchContext, type BenchResult } from '../lib.js'

// Cold start to both ports ready, and idle / loaded RSS, of the built server (dist/) beside a bare Fastify process.

const root = fileURLToPath(new URL('../..', import.meta.url))

async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

async function until (check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  throw new Error('not ready in time')
}

const httpOk = (url: string) => async () => (await fetch(url)).ok

function grpcServing (address: string) {
  return async () => await new Promise<boolean>((resolve) => {
    const client = new HealthClient(address, credentials.createInsecure()) as any
    client.check({ service: '' }, { deadline: new Date(Date.now() + 500) }, (err: unknown, res: { status: string }) => {
      client.close()
      resolve(!err && res.status === 'SERVING')
    })
  })
}

async function stop (child: ChildProcess) {
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

type Started = { child: ChildProcess, ms: number, httpPort: number }

async function startServer (env: Record<string, string>): Promise<Started> {
  const httpPort = await freePort()
  const grpcPort = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', HTTP_PORT: String(httpPort), GRPC_PORT: String(grpcPort), ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  await until(httpOk(`http://127.0.0.1:${httpPort}/health/ready`))
  await until(grpcServing(`127.0.0.1:${grpcPort}`))
  return { child, ms: performance.now() - t0, httpPort }
}

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  // bare baseline: a Fastify hello-world process, spawn → first 200
  const barePort = await freePort()
  const bareScript = `import Fastify from 'fastify'; const f = Fastify(); f.get('/', async () => ({ hello: 'world' })); await f.listen({ host: '127.0.0.1', port: ${barePort} })`
  const t0 = performance.now()
  const bare = spawn(process.execPath, ['--input-type=module', '-e', bareScript], { cwd: root, stdio: 'ignore' })
  await until(httpOk(`http://127.0.0.1:${barePort}/`))
  const bareStartMs = performance.now() - t0
  await new Promise(resolve => setTimeout(resolve, 1000))
  const bareRss = await rssMiB(bare.pid!)
  await stop(bare)

  const external = await startServer({ REDIS_URL: ctx.redis.url, ADMIN_USER: 'admin', ADMIN_PASSWORD: 'admin-password' })
  await new Promise(resolve => setTimeout(resolve, 1500))
  const idleRss = await rssMiB(external.child.pid!)
  const load = await ctx.httpLoad({ url: `http://127.0.0.1:${external.httpPort}/health/ready`, duration: Math.min(ctx.durationSec, 5) })
  const loadedRss = await rssMiB(external.child.pid!)
  await stop(external.child)

  const dataDir = await mkdtemp(join(tmpdir(), 'playfield-bench-embedded-'))
  const embedded = await startServer({ REDIS_DATA_DIR: dataDir, ADMIN_USER: 'admin', ADMIN_PASSWORD: 'admin-password' })
  await stop(embedded.child)
  await rm(dataDir, { recursive: true, force: true })

  return [
    { figure: 'cold start to both ports ready (REDIS_URL)', unit: 'ms', ours: external.ms, baseline: bareStartMs, baselineName: 'bare Fastify process', ratio: ratioOf(external.ms, bareStartMs), target: '≤ 1000 ms' },
    { figure: 'cold start with embedded redis-server', unit: 'ms', ours: embedded.ms, baseline: bareStartMs, baselineName: 'bare Fastify process', ratio: ratioOf(embedded.ms, bareStartMs), target: '≤ 1000 ms' },
    { figure: 'idle RSS', unit: 'MiB', ours: idleRss, baseline: bareRss, baselineName: 'bare Fastify idle', ratio: ratioOf(idleRss, bareRss), target: '≤ 120 MiB' },
    { figure: 'loaded RSS (GET /health/ready at 100 connections)', unit: 'MiB', ours: loadedRss, baseline: bareRss, baselineName: 'bare Fastify idle', ratio: ratioOf(loadedRss, bareRss), p50: load.p50, p99: load.p99, note: `${Math.round(load.rps)} req/s` }
  ]
}
