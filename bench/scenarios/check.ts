import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../src/plugins/infra/redis-server.js'
import { figure, httpSample, interleave, ROOT, startBareHttp, type BenchContext, type BenchResult } from '../lib.js'

// A check of the harness: the bench's bare Fastify baseline (bench/procs/bare-http.ts, started by the harness)
// against a bare Fastify hello started as plain `node -e` the way one would from the shell, both loaded by the
// autocannon CLI, interleaved. The two must agree within 20 % (ratio 0.8–1.2); BENCHMARKS.md shows the same
// check typed by hand in a shell.

const script = (port: number) => "import Fastify from 'fastify'; const f = Fastify(); " +
  `f.get('/', async () => ({ hello: 'world' })); await f.listen({ host: '127.0.0.1', port: ${port} })`

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const bench = await startBareHttp()
  const port = await freePort()
  const shell = spawn(process.execPath, ['--input-type=module', '-e', script(port)], { cwd: ROOT, stdio: 'ignore' })
  const exited = new Promise(resolve => shell.once('exit', resolve))
  try {
    const shellUrl = `http://127.0.0.1:${port}/`
    for (let i = 0; i < 300 && !(await fetch(shellUrl).then(r => r.ok, () => false)); i++) await sleep(20)
    await ctx.httpLoad({ url: shellUrl, duration: 1 })
    await ctx.httpLoad({ url: `${bench.base}/`, duration: 1 })
    const s = await interleave(ctx.rounds,
      async () => httpSample(await ctx.httpLoadOk('bare Fastify (node -e)', { url: shellUrl })),
      async () => httpSample(await ctx.httpLoadOk('bench bare Fastify', { url: `${bench.base}/` })))
    return [figure({
      figure: `check: the bench's bare Fastify vs bare Fastify from a shell, ${ctx.connections} connections`,
      unit: 'req/s',
      baselineName: 'bare Fastify, node -e',
      target: '0.8–1.2',
      ...s
    })]
  } finally {
    shell.kill('SIGTERM')
    await exited
    await bench.stop()
  }
}
