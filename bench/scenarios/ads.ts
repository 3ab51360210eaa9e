import { ratioOf, type BenchContext, type BenchResult } from '../lib.js'

// GET /impression, the hot path of the ads API (SDKs call it once per ad shown), at the run's connections,
// beside the bare Fastify hello-world measured in the same run. GET /ad (built-in VAST) is reported too,
// with a shorter load so the scenario stays within 30 s.

const query = new URLSearchParams({
  sdk_version: '1.0', session_id: 'bench-session', platform: 'android', username: 'bench-user', country_code: 'US'
}).toString()

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const { app, url } = await ctx.startApp()
  const impressionUrl = `${url}/impression?${query}`
  await ctx.httpLoad({ url: impressionUrl, duration: 1 }) // warm-up: JIT, script cache, connections
  const impression = await ctx.httpLoad({ url: impressionUrl })
  const ad = await ctx.httpLoad({ url: `${url}/ad?${query}`, duration: Math.min(ctx.durationSec, 5) })
  const bare = await ctx.bareHttp()

  // The counters must agree with what the load generator saw answered 200 (warm-up included, so at least).
  const stats = (await app.inject('/statistics?username=bench-user')).json()['bench-user']
  const served = impression.total - impression.non2xx - impression.errors
  ctx.log(`ads: ${stats.impressions} impressions counted, ${served} answered 200 in the measured run`)

  return [
    {
      figure: `GET /impression at ${ctx.connections} connections`,
      unit: 'req/s',
      ours: impression.rps,
      baseline: bare.rps,
      baselineName: 'bare Fastify hello-world',
      ratio: ratioOf(impression.rps, bare.rps),
      p50: impression.p50,
      p99: impression.p99,
      target: '≥ 0.6 × bare',
      note: `bare p99 ${bare.p99} ms; non-2xx ${impression.non2xx}, errors ${impression.errors}`
    },
    {
      figure: `GET /ad (built-in VAST) at ${ctx.connections} connections`,
      unit: 'req/s',
      ours: ad.rps,
      baseline: bare.rps,
      baselineName: 'bare Fastify hello-world',
      ratio: ratioOf(ad.rps, bare.rps),
      p50: ad.p50,
      p99: ad.p99,
      note: `non-2xx ${ad.non2xx}, errors ${ad.errors}`
    }
  ]
}
