import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { credentials } from '@grpc/grpc-js'
import { Health as HealthClient } from '../../src/grpc/contract.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'
import { figure, interleave, ROOT, type BenchContext, type BenchResult, type Sample } from '../lib.js'

// `node dist/server.js` (REDIS_URL set) from spawn until both ports are ready (/health/ready answers 200 and the
// gRPC health service answers SERVING), against a bare Fastify process (`node -e`, spawn → first 200); and the
// idle RSS of each, 1.5 s after ready. Rounds interleaved.

async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

async function until (check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await sleep(5)
  }
  throw new Error('not ready in time')
}

const httpOk = (url: string) => async () => (await fetch(url)).ok
const grpcServing = (address: string) => async () => await new Promise<boolean>((resolve) => {
  const client = new HealthClient(address, credentials.createInsecure()) as any
  client.check({ service: '' }, { deadline: new Date(Date.now() + 500) }, (err: unknown, res: { status: string }) => {
    client.close()
    resolve(!err && res.status === 'SERVING')
  })
})

async function timedStart (args: string[], env: Record<string, string>, ready: Array<() => Promise<boolean>>):
Promise<{ ms: number, rss: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise(resolve => child.once('exit', resolve))
  try {
    await Promise.all(ready.map(r => until(r)))
    const ms = performance.now() - t0
    await sleep(1500)
    return { ms, rss: await rssMiB(child.pid!) }
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const bare = async () => {
    const port = await freePort()
    const script = "import Fastify from 'fastify'; const f = Fastify(); f.get('/', async () => ({ hello: 'world' })); " +
      `await f.listen({ host: '127.0.0.1', port: ${port} })`
    return await timedStart(['--input-type=module', '-e', script], {}, [httpOk(`http://127.0.0.1:${port}/`)])
  }
  const ours = async () => {
    const http = await freePort()
    const grpc = await freePort()
    return await timedStart(['dist/server.js'], {
      REDIS_URL: ctx.redis.url,
      HOST: '127.0.0.1',
      HTTP_PORT: String(http),
      GRPC_PORT: String(grpc),
      LOG_LEVEL: 'warn',
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'bench-admin-password'
    }, [httpOk(`http://127.0.0.1:${http}/health/ready`), grpcServing(`127.0.0.1:${grpc}`)])
  }
  await ours() // first start after a build: file cache warm, as a second start is
  const samples = { bare: [] as Array<{ ms: number, rss: number }>, ours: [] as Array<{ ms: number, rss: number }> }
  await interleave(ctx.rounds, async () => { samples.bare.push(await bare()); return { value: 0, p50: 0, p99: 0 } },
    async () => { samples.ours.push(await ours()); return { value: 0, p50: 0, p99: 0 } })
  const as = (xs: Array<{ ms: number, rss: number }>, k: 'ms' | 'rss'): Sample[] => xs.map(x => ({ value: x[k], p50: 0, p99: 0 }))
  return [
    figure({
      figure: '`node dist/server.js` to both ports ready (REDIS_URL)',
      unit: 'ms',
      baselineName: 'bare Fastify process to first 200',
      target: '≤ 1,000 ms (lower is better)',
      ours: as(samples.ours, 'ms'),
      baseline: as(samples.bare, 'ms')
    }),
    figure({
      figure: 'idle RSS, 1.5 s after ready',
      unit: 'MiB',
      baselineName: 'bare Fastify idle',
      target: '≤ 100 MiB (lower is better)',
      ours: as(samples.ours, 'rss'),
      baseline: as(samples.bare, 'rss')
    })
  ]
}
