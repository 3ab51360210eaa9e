import {
  ADMIN_BASIC, figure, httpSample, interleave, startBareHttp, startOurs, type BenchContext, type BenchResult,
  type HttpLoadSpec
} from '../lib.js'

// The REST hot paths of the built server against a bare Fastify hello process, both loaded by the autocannon CLI:
// GET /impression, GET /health/live, GET /ad (built-in VAST), POST /scores with 10 entries (fresh player names per
// request, so every write changes the board). Rounds interleaved bare, ours, bare, ours …

const query = new URLSearchParams({
  sdk_version: '1.0', session_id: 'bench-session', platform: 'android', username: 'bench-user', country_code: 'US'
}).toString()

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const bare = await startBareHttp()
  const ours = await startOurs({ REDIS_URL: ctx.redis.url })
  try {
    const res = await fetch(`${ours.base}/auth`, { method: 'POST', headers: { authorization: ADMIN_BASIC } })
    const { jwt } = await res.json() as { jwt: string }
    const scores = JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ name: `p${i}-[<id>]`, score: 1000 + i * 7 })))
    const loads: Array<{ figure: string, target: string, spec: HttpLoadSpec }> = [
      { figure: 'GET /impression', target: '≥ 0.6 (stretch 0.8)', spec: { url: `${ours.base}/impression?${query}` } },
      { figure: 'GET /health/live', target: '≥ 0.75', spec: { url: `${ours.base}/health/live` } },
      { figure: 'GET /ad (built-in VAST)', target: '≥ 0.45', spec: { url: `${ours.base}/ad?${query}` } },
      {
        figure: 'POST /scores, 10 entries',
        target: '≥ 0.35',
        spec: {
          url: `${ours.base}/scores`,
          method: 'POST',
          body: scores,
          idReplacement: true,
          headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }
        }
      }
    ]
    const baseSpec = { url: `${bare.base}/` }
    const out: BenchResult[] = []
    for (const l of loads) {
      // warm-up: JIT, script cache, connections
      await ctx.httpLoad({ ...baseSpec, duration: 1 })
      await ctx.httpLoadOk(l.figure, { ...l.spec, duration: 1 })
      const s = await interleave(ctx.rounds,
        async () => httpSample(await ctx.httpLoadOk('bare Fastify hello', baseSpec)),
        async () => httpSample(await ctx.httpLoadOk(l.figure, l.spec)))
      out.push(figure({
        figure: `${l.figure} at ${ctx.connections} connections`,
        unit: 'req/s',
        baselineName: 'bare Fastify hello',
        target: `${l.target} of bare; p99 ≤ 2 × bare p99`,
        ...s
      }))
    }
    return out
  } finally {
    await ours.stop()
    await bare.stop()
  }
}
