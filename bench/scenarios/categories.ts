import { ratioOf, type BenchContext, type BenchResult } from '../lib.js'

// GET /categories/:id/ (one Lua round trip) beside bare Fastify, and the one-request creation and full read of a
// 10,000-category tree. Loads are bounded by ctx.durationSec; the big tree is made and read a handful of times.

function bigTree (tag: string) {
  // 1 root + 99 branches × (1 + 100 leaves) = 10,000 categories, three levels.
  return {
    name: `${tag} root`,
    children: Array.from({ length: 99 }, (_, b) => ({
      name: `${tag} b${b}`,
      children: Array.from({ length: 100 }, (_, l) => ({ name: `${tag} b${b}.l${l}` }))
    }))
  }
}

async function timed<T> (fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const out = await fn()
  return [out, performance.now() - t0]
}

export default async function run (ctx: BenchContext): Promise<BenchResult[]> {
  const { url, close } = await ctx.startApp()
  try {
    const post = async (body: unknown) => {
      const res = await fetch(`${url}/categories/`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
      })
      if (res.status !== 201) throw new Error(`POST /categories/ answered ${res.status}: ${await res.text()}`)
      return await res.json() as { id: number, count: number }
    }

    // The original fixture shape: 15 categories, then a read of a middle node (2 ancestors, 3 descendants).
    const fixture = await post({
      name: 'C1',
      children: [
        { name: 'C1.1', children: [{ name: 'C1.1.1', children: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] }, { name: 'C1.1.2' }] },
        { name: 'C1.2', children: [{ name: 'C1.2.1' }] }
      ]
    })
    const load = await ctx.httpLoad({ url: `${url}/categories/${fixture.id + 2}/` })
    const bare = await ctx.bareHttp()
    if (load.errors > 0 || load.non2xx > 0) ctx.log(`categories read: ${load.errors} errors, ${load.non2xx} non-2xx`)

    const creates: number[] = []
    const reads: number[] = []
    for (let i = 0; i < 5; i++) {
      const [created, createMs] = await timed(() => post(bigTree(`t${i}`)))
      creates.push(createMs)
      const [count, readMs] = await timed(async () => {
        const res = await fetch(`${url}/categories/${created.id}/`)
        return ((await res.json()) as { children: unknown[] }).children.length
      })
      if (count !== 9_999) throw new Error(`expected 9999 descendants, got ${count}`)
      reads.push(readMs)
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

    return [
      {
        figure: 'GET /categories/:id/ (2 ancestors, 3 descendants, 1 sibling)',
        unit: 'req/s',
        ours: load.rps,
        baseline: bare.rps,
        baselineName: 'bare Fastify hello',
        ratio: ratioOf(load.rps, bare.rps),
        p50: load.p50,
        p99: load.p99
      },
      { figure: 'POST /categories/ with 10,000 categories (median of 5)', unit: 'ms', ours: median(creates) },
      { figure: 'GET of that root: 9,999 descendants (median of 5)', unit: 'ms', ours: median(reads) }
    ]
  } finally {
    await close()
  }
}
