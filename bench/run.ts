import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startRedisServer } from '../src/plugins/infra/redis-server.js'
import { httpLoad, loadAverage, log, type BenchContext, type BenchResult } from './lib.js'

// npm run bench [-- scenario …]   (scenario = a file name in bench/scenarios without .ts; default: all of them)
// Env: BENCH_DURATION (seconds per HTTP round, default 5), BENCH_CONNECTIONS (default 100), BENCH_ROUNDS (rounds
// of ours and of the baseline, interleaved, default 2), BENCH_SCENARIO_TIMEOUT_S (hard cap per scenario, default 300).
// Needs dist/ (npm run bench builds it first). Prints the table and writes bench/results/latest.json.

const here = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const files = (await readdir(join(here, 'scenarios'))).filter(f => f.endsWith('.ts')).sort()
const known = files.map(f => f.replace(/\.ts$/, ''))
const unknown = only.filter(s => !known.includes(s))
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${known.join(', ')}\n`)
  process.exit(2)
}
const selected = known.filter(s => only.length === 0 || only.includes(s))

const dir = await mkdtemp(join(tmpdir(), 'playfield-bench-'))
const redis = await startRedisServer({ dir: join(dir, 'redis'), aof: false })
const defaults = {
  duration: Number(process.env.BENCH_DURATION ?? 5),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 100)
}
const ctx: BenchContext = {
  redis,
  ...defaults,
  rounds: Math.max(2, Number(process.env.BENCH_ROUNDS ?? 2)),
  httpLoad: (spec) => httpLoad(spec, defaults),
  async httpLoadOk (name, spec) {
    const r = await httpLoad(spec, defaults)
    if (r.errors > 0 || r.non2xx > 0 || r.total === 0) {
      throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.total} requests`)
    }
    return r
  },
  tmp: (name) => join(dir, name)
}

type Row = BenchResult & { scenario: string, loadBefore: number[], loadAfter: number[] }
const results: Row[] = []
const runs: Array<{ scenario: string, loadBefore: number[], loadAfter: number[], seconds: number }> = []
const scenarioTimeoutMs = Number(process.env.BENCH_SCENARIO_TIMEOUT_S ?? 300) * 1000
const started = new Date()
let failed = 0
try {
  for (const scenario of selected) {
    log(`scenario ${scenario} (load average ${loadAverage().join(' ')})`)
    await redis.restart() // a clean, empty private Redis for each scenario (no AOF, no save)
    const mod = await import(join(here, 'scenarios', `${scenario}.ts`)) as
      { default: (c: BenchContext) => Promise<BenchResult[]> }
    const loadBefore = loadAverage()
    const t0 = performance.now()
    let timer: NodeJS.Timeout | undefined
    const cap = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${scenarioTimeoutMs / 1000} s`)), scenarioTimeoutMs)
    })
    let rows: BenchResult[]
    try {
      rows = await Promise.race([mod.default(ctx), cap])
    } catch (err) {
      failed++
      log(`scenario ${scenario} failed: ${(err as Error).stack}`)
      rows = [{ figure: `${scenario} FAILED`, unit: '', ours: 0, note: (err as Error).message }]
    } finally {
      clearTimeout(timer)
    }
    const loadAfter = loadAverage()
    runs.push({ scenario, loadBefore, loadAfter, seconds: Math.round((performance.now() - t0) / 1000) })
    for (const r of rows) results.push({ scenario, ...r, loadBefore, loadAfter })
  }
} finally {
  await redis.stop()
  await rm(dir, { recursive: true, force: true })
}

const fmt = (n: number | undefined, digits = 1) =>
  n === undefined ? '' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits)
const range = (s: [number, number] | undefined) => s ? ` (${fmt(s[0])}–${fmt(s[1])})` : ''
const rows = results.map(r => [
  r.figure,
  `${fmt(r.ours)}${range(r.ours_spread)} ${r.unit}`,
  r.baseline === undefined ? '' : `${fmt(r.baseline)}${range(r.baseline_spread)} ${r.baselineName ?? ''}`,
  r.ratio === undefined ? '' : r.ratio.toFixed(2),
  r.p50 === undefined ? '' : r.baseline_p50 === undefined ? fmt(r.p50) : `${fmt(r.p50)} / ${fmt(r.baseline_p50)}`,
  r.p99 === undefined ? '' : r.baseline_p99 === undefined ? fmt(r.p99) : `${fmt(r.p99)} / ${fmt(r.baseline_p99)}`,
  r.target ?? '',
  r.note ?? ''
])
const header = ['figure', 'ours: median (min–max)', 'baseline: median (min–max)', 'ratio', 'p50 ms ours / base',
  'p99 ms ours / base', 'target', 'note']
const table = [header, header.map(() => '---'), ...rows].map(cols => `| ${cols.join(' | ')} |`).join('\n')
const machine = {
  cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version
}
process.stdout.write(`\n${started.toISOString()} · ${machine.cpus} × ${machine.cpuModel} · ${machine.memoryGiB} GiB · ` +
  `Node ${machine.node} · ${defaults.connections} connections, ${defaults.duration} s per HTTP round, ` +
  `${ctx.rounds} rounds each, interleaved\n`)
for (const r of runs) {
  process.stdout.write(`load average ${r.scenario}: before ${r.loadBefore.join(' ')}, after ${r.loadAfter.join(' ')} ` +
    `(${r.seconds} s)\n`)
}
process.stdout.write('\n' + table + '\n')

await mkdir(join(here, 'results'), { recursive: true })
await writeFile(join(here, 'results', 'latest.json'), JSON.stringify({
  date: started.toISOString(),
  machine,
  settings: { ...defaults, rounds: ctx.rounds },
  loadAverageEnd: loadavg(),
  runs,
  results
}, null, 2) + '\n')
log('wrote bench/results/latest.json')
if (failed > 0) {
  log(`${failed} scenario(s) failed`)
  process.exit(1)
}
process.exit(0)
