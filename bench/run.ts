import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { createContext, type BenchContext, type BenchResult } from './lib.js'

// npm run bench [-- scenario …]   (scenario = a file name in bench/scenarios without .ts)
// Env: BENCH_DURATION (seconds per HTTP load, default 10), BENCH_CONNECTIONS (default 100),
// BENCH_SCENARIO_TIMEOUT_S (hard cap on one scenario, preloads included, default 150).

const here = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const files = (await readdir(join(here, 'scenarios'))).filter(f => f.endsWith('.ts')).sort()
const selected = files.filter(f => only.length === 0 || only.includes(f.replace(/\.ts$/, '')))

const ctx = await createContext({
  durationSec: Number(process.env.BENCH_DURATION ?? 10),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 100)
})
const results: Array<BenchResult & { scenario: string }> = []
const scenarioTimeoutMs = Number(process.env.BENCH_SCENARIO_TIMEOUT_S ?? 150) * 1000
let failed = 0
try {
  for (const file of selected) {
    const scenario = file.replace(/\.ts$/, '')
    ctx.log(`scenario ${scenario}`)
    await ctx.redis.restart() // a clean, empty private Redis for each scenario (no AOF, no save)
    const mod = await import(join(here, 'scenarios', file)) as { default: (c: BenchContext) => Promise<BenchResult[]> }
    let timer: NodeJS.Timeout | undefined
    const cap = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${scenarioTimeoutMs / 1000} s`)), scenarioTimeoutMs)
    })
    try {
      for (const r of await Promise.race([mod.default(ctx), cap])) results.push({ scenario, ...r })
    } catch (err) {
      failed++
      ctx.log(`scenario ${scenario} failed: ${(err as Error).stack}`)
      results.push({ scenario, figure: `${scenario} FAILED`, unit: '', ours: 0, note: (err as Error).message })
    } finally {
      clearTimeout(timer)
    }
  }
} finally {
  await ctx.close()
}

const fmt = (n: number | undefined, digits = 1) =>
  n === undefined ? '' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits)
const rows = results.map(r => [
  r.figure, `${fmt(r.ours)} ${r.unit}`, r.baseline === undefined ? '' : `${fmt(r.baseline)} (${r.baselineName ?? 'baseline'})`,
  r.ratio === undefined ? '' : r.ratio.toFixed(2), fmt(r.p50, 2), fmt(r.p99, 2), r.target ?? '', r.note ?? ''
])
const header = ['figure', 'ours', 'baseline', 'ratio', 'p50 ms', 'p99 ms', 'target', 'note']
const table = [header, header.map(() => '---'), ...rows].map(cols => `| ${cols.join(' | ')} |`).join('\n')
process.stdout.write(table + '\n')

const machine = {
  cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version
}
await mkdir(join(here, 'results'), { recursive: true })
await writeFile(join(here, 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2))
ctx.log('wrote bench/results/latest.json')
if (failed > 0) {
  ctx.log(`${failed} scenario(s) failed`)
  // A scenario past its cap may still hold sockets and timers: don't wait for it.
  process.exit(1)
}
