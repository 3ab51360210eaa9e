import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startRedisServer, freePort } from '../src/plugins/infra/redis-server.js'
import { startRedisCluster } from '../test/helpers/redis-cluster.js'

// npm run bench:cluster — the same built server (dist/server.js) on one Redis and on a 3+3 Redis Cluster, each
// run as its own OS process, loaded by the autocannon CLI (a third process), in interleaved rounds
// (single, cluster, single, cluster …). Prints req/s and p50/p99 per round, the medians and the cluster/single
// ratio, and writes bench/results/cluster.json. Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (50),
// BENCH_ROUNDS (2).

const root = fileURLToPath(new URL('..', import.meta.url))
const duration = Number(process.env.BENCH_DURATION ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const ADMIN = `Basic ${Buffer.from('admin:bench-admin-password').toString('base64')}`

interface Load { figure: string, path: string, method?: string, body?: string, auth?: boolean }
const LOADS: Load[] = [
  { figure: 'GET /impression', path: '/impression?sdk_version=1.0&session_id=s-1&platform=android&username=Jack&country_code=US' },
  {
    figure: 'POST /scores, 10 entries',
    path: '/scores?board=bench',
    method: 'POST',
    auth: true,
    body: JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, score: i * 7 })))
  }
]

async function server (env: Record<string, string>): Promise<{ base: string, stop (): Promise<void> }> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ['dist/server.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      HTTP_PORT: String(port),
      GRPC_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'bench-admin-password',
      JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijkl',
      RATE_LIMIT_MAX: '1000000',
      ADS_RATE_LIMIT_MAX: '0',
      SESSIONS_RATE_LIMIT_MAX: '0',
      MAX_EVENT_LOOP_DELAY_MS: '0'
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300 && !(await fetch(`${base}/health/ready`).then(r => r.ok, () => false)); i++) await sleep(100)
  return {
    base,
    async stop () {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

async function autocannon (url: string, load: Load, auth: string): Promise<{ rps: number, p50: number, p99: number }> {
  const args = ['-c', String(connections), '-d', String(duration), '-j', '-m', load.method ?? 'GET']
  if (load.body) args.push('-b', load.body, '-H', 'content-type=application/json')
  if (load.auth) args.push('-H', `authorization=${auth}`)
  const child = spawn(join(root, 'node_modules/.bin/autocannon'), [...args, url], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  await new Promise(resolve => child.once('exit', resolve))
  const r = JSON.parse(out)
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${load.figure}: ${r.non2xx} non-2xx, ${r.errors} errors`)
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 }
}

const spread = (xs: number[]) => [Math.round(Math.min(...xs)), Math.round(Math.max(...xs))]
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const dir = await mkdtemp(join(tmpdir(), 'playfield-bench-cluster-'))
const single = await startRedisServer({ dir: join(dir, 'single'), aof: false })
const cluster = await startRedisCluster(join(dir, 'cluster'))
const results: Record<string, Record<'single' | 'cluster', Array<{ rps: number, p50: number, p99: number }>>> = {}
const loadBefore = loadavg()
try {
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['single', 'cluster'] as const) {
      const s = await server(mode === 'single' ? { REDIS_URL: single.url } : { REDIS_CLUSTER_NODES: cluster.addresses })
      try {
        const res = await fetch(`${s.base}/auth`, { method: 'POST', headers: { authorization: ADMIN } })
        const { jwt } = await res.json() as { jwt: string }
        for (const load of LOADS) {
          const r = await autocannon(`${s.base}${load.path}`, load, `Bearer ${jwt}`)
          ;((results[load.figure] ??= { single: [], cluster: [] })[mode]).push(r)
          process.stdout.write(`round ${round + 1} ${mode.padEnd(7)} ${load.figure.padEnd(26)} ${Math.round(r.rps)} req/s, ` +
            `p50 ${r.p50} ms, p99 ${r.p99} ms\n`)
        }
      } finally {
        await s.stop()
      }
    }
  }
} finally {
  await cluster.stop()
  await single.stop()
  await rm(dir, { recursive: true, force: true })
}
const loadAfter = loadavg()
const table = Object.entries(results).map(([figure, r]) => {
  const s = median(r.single.map(x => x.rps))
  const c = median(r.cluster.map(x => x.rps))
  return {
    figure,
    single: Math.round(s),
    cluster: Math.round(c),
    ratio: Number((c / s).toFixed(2)),
    single_spread: spread(r.single.map(x => x.rps)),
    cluster_spread: spread(r.cluster.map(x => x.rps)),
    single_p50_p99: [median(r.single.map(x => x.p50)), median(r.single.map(x => x.p99))],
    cluster_p50_p99: [median(r.cluster.map(x => x.p50)), median(r.cluster.map(x => x.p99))]
  }
})
process.stdout.write(`\nload average before ${loadBefore.map(x => x.toFixed(2)).join(' ')}, after ${loadAfter.map(x => x.toFixed(2)).join(' ')}\n`)
for (const row of table) process.stdout.write(`${JSON.stringify(row)}\n`)
await mkdir(join(root, 'bench/results'), { recursive: true })
await writeFile(join(root, 'bench/results/cluster.json'), JSON.stringify({
  date: new Date().toISOString(), duration, connections, rounds, loadBefore, loadAfter, table
}, null, 2))
