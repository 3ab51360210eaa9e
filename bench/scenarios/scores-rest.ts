import { ratioOf, type BenchContext, type BenchResult } from '../lib.js'

// POST /scores with 10 entries per request (the REST gateway of the leaderboard) at the run's connections, beside
// the bare Fastify hello-world of the same run. Each request carries 10 players drawn from 100,000 names, so the
// board grows and most writes change something.

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const { app, url } = await ctx.startApp()
  const auth = 'Basic ' + Buffer.from('admin:admin-password').toString('base64')
  const { jwt } = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: auth } })).json()
  let n = 0
  const load = await ctx.httpLoad({
    url: `${url}/scores`,
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    requests: [{
      setupRequest: (req: any) => {
        const entries = Array.from({ length: 10 }, () => {
          n++
          return { name: `player-${(n * 7919) % 100000}`, score: (n * 104729) % 1000000 }
        })
        return { ...req, body: JSON.stringify(entries) }
      }
    }]
  })
  const bare = await ctx.bareHttp()
  const total = (await app.inject({
    url: '/leaderboard', headers: { authorization: `Bearer ${jwt}` }
  })).json().total
  return [{
    figure: `POST /scores (10 entries) at ${ctx.connections} connections`,
    unit: 'req/s',
    ours: load.rps,
    baseline: bare.rps,
    baselineName: 'bare Fastify hello-world',
    ratio: ratioOf(load.rps, bare.rps),
    p50: load.p50,
    p99: load.p99,
    note: `${Math.round(load.rps * 10)} scores/s; board grew to ${total} players; non-2xx ${load.non2xx}, errors ${load.errors}`
  }]
}
