import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Cluster } from 'ioredis'
import { allKeys, build } from '../helpers/app.js'
import { perKey } from '../../src/plugins/infra/gather.js'

interface Ref { id: number, name: string }

// Issue #17, bounded work: category trees have size and depth caps (per whole tree, attached subtrees included),
// writes need an account, and reads come in pages, so no single request keeps Redis busy for long.

const servers = (app: FastifyInstance) => app.redis instanceof Cluster ? app.redis.nodes('master') : [app.redis]

async function empty (app: FastifyInstance) {
  await perKey(app.redis, await allKeys(app.redis, 'cat:*'), (pipeline, key) => { pipeline.del(key) })
}

async function bearer (app: FastifyInstance) {
  return { authorization: `Bearer ${(await app.auth.signJwt({ username: 'player', admin: false })).jwt}` }
}

async function post (app: FastifyInstance, payload: unknown) {
  return await app.inject({ method: 'POST', url: '/categories/', headers: await bearer(app), payload: payload as object })
}

const flat = (prefix: string, n: number) => ({ name: prefix, children: Array.from({ length: n - 1 }, (_, i) => ({ name: `${prefix}.${i}` })) })
const chain = (prefix: string, levels: number) => {
  let node: { name: string, children?: unknown[] } = { name: `${prefix}.${levels}` }
  for (let i = levels - 1; i >= 1; i--) node = { name: `${prefix}.${i}`, children: [node] }
  return node
}
const ids = (refs: Ref[]) => refs.map(r => r.id)

t.test('an anonymous category write is refused with 401 and writes nothing', async (t) => {
  const app = await build(t)
  await empty(app)
  const res = await app.inject({ method: 'POST', url: '/categories/', payload: { name: 'anon' } })
  t.equal(res.statusCode, 401)
  t.match(res.json().message, /Bearer/)
  t.same(await allKeys(app.redis, 'cat:*'), [])
  const bad = await app.inject({ method: 'POST', url: '/categories/', headers: { authorization: 'Bearer nope' }, payload: { name: 'anon' } })
  t.equal(bad.statusCode, 401)
  t.equal((await post(app, { name: 'with an account' })).statusCode, 201)
})

t.test('a 100,000-category tree is refused naming the limit, and creates nothing', async (t) => {
  const app = await build(t)
  await empty(app)
  const huge = flat('h', 100_000)
  // On the defaults the body itself is over BODY_LIMIT_BYTES: 413 before it is parsed.
  const res = await post(app, huge)
  t.equal(res.statusCode, 413)
  t.match(res.json().message,
    /larger than 1048576 bytes \(BODY_LIMIT_BYTES\); a category tree holds at most 10000 categories/)
  // With a body limit that lets it through, the node cap refuses it: 400 naming the cap.
  const roomy = await build(t, { config: { BODY_LIMIT_BYTES: String(16 * 1024 * 1024) } })
  const res2 = await post(roomy, huge)
  t.equal(res2.statusCode, 400)
  t.equal(res2.json().message, 'the tree has more than 10000 categories')
  t.same(await allKeys(app.redis, 'cat:*'), [])
})

t.test('attaching subtrees cannot grow one tree past CATEGORIES_MAX_NODES', async (t) => {
  const app = await build(t, { config: { CATEGORIES_MAX_NODES: '50' } })
  await empty(app)
  t.same((await post(app, flat('a', 30))).json(), { id: 1, count: 30 })
  // 30 + 20 = 50: allowed, exactly at the cap (attached under a leaf, counted for the root's tree).
  t.same((await post(app, { ...flat('b', 20), parent_id: 5 })).json(), { id: 31, count: 20 })
  const over = await post(app, { name: 'one too many', parent_id: 40 })
  t.equal(over.statusCode, 400)
  t.equal(over.json().message, 'the tree of category 40 has 50 categories: 1 more would exceed the limit of 50 categories per tree')
  t.equal((await app.inject('/categories/51/')).statusCode, 404, 'nothing written')
  // Another tree has its own budget.
  t.equal((await post(app, flat('c', 50))).statusCode, 201)
  t.equal((await post(app, flat('d', 51))).json().message, 'the tree has more than 50 categories')
})

t.test('attaching subtrees cannot make one tree deeper than CATEGORIES_MAX_DEPTH', async (t) => {
  const app = await build(t, { config: { CATEGORIES_MAX_DEPTH: '6' } })
  await empty(app)
  t.equal((await post(app, chain('x', 4))).statusCode, 201) // ids 1..4, id 4 at level 4
  t.equal((await post(app, { ...chain('y', 2), parent_id: 4 })).statusCode, 201) // levels 5 and 6
  const deeper = await post(app, { name: 'z', parent_id: 6 })
  t.equal(deeper.statusCode, 400)
  t.equal(deeper.json().message, 'category 6 is at level 6: a tree 1 levels deep under it would make its tree 7 levels deep; at most 6 levels are allowed')
  const posted = await post(app, chain('w', 7))
  t.equal(posted.statusCode, 400)
  t.match(posted.json().message, /nested 7 levels deep; at most 6 levels are allowed/)
})

t.test('reads are paged: ?limit= up to CATEGORIES_PAGE_MAX, next_cursor continues the pre-order', async (t) => {
  const app = await build(t, { config: { CATEGORIES_PAGE_MAX: '5' } })
  await empty(app)
  // 1 → (2 → 3,4,5), (6 → 7,8), 9 … 14: 14 categories, root 1 has 13 descendants, 8 direct children.
  const tree = {
    name: 'r',
    children: [
      { name: 'a', children: [{ name: 'a1' }, { name: 'a2' }, { name: 'a3' }] },
      { name: 'b', children: [{ name: 'b1' }, { name: 'b2' }] },
      ...Array.from({ length: 6 }, (_, i) => ({ name: `c${i}` }))
    ]
  }
  t.same((await post(app, tree)).json(), { id: 1, count: 14 })
  const first = (await app.inject('/categories/1/')).json()
  t.same(ids(first.children), [2, 3, 4, 5, 6])
  t.equal(first.next_cursor, 6)
  t.same(ids(first.direct_children), [2, 6, 9, 10, 11], 'direct children capped at the page size')
  const second = (await app.inject('/categories/1/?cursor=6')).json()
  t.same(ids(second.children), [7, 8, 9, 10, 11])
  const third = (await app.inject('/categories/1/?cursor=11')).json()
  t.same(ids(third.children), [12, 13, 14])
  t.notOk('next_cursor' in third, 'the last page has no cursor')
  // A cursor inside a subtree: the rest of the walk continues above it.
  t.same(ids((await app.inject('/categories/1/?cursor=3&limit=3')).json().children), [4, 5, 6])
  t.same(ids((await app.inject('/categories/2/?cursor=3')).json().children), [4, 5])
  const tooMany = await app.inject('/categories/1/?limit=6')
  t.equal(tooMany.statusCode, 400)
  t.equal(tooMany.json().message, 'limit must be an integer between 1 and 5')
  const foreign = await app.inject('/categories/2/?cursor=7')
  t.equal(foreign.statusCode, 400)
  t.equal(foreign.json().message, 'cursor 7 is not a descendant of category 2')
  t.equal((await app.inject('/categories/1/?cursor=99')).statusCode, 400)
  t.same(ids((await app.inject('/categories/3/')).json().siblings), [4, 5])
})

t.test('with the default limits no category request keeps Redis busy 50 ms (SLOWLOG)', async (t) => {
  const app = await build(t)
  await empty(app)
  const nodes = servers(app)
  const saved = await Promise.all(nodes.map(async n => (await n.config('GET', 'slowlog-log-slower-than') as string[])[1]))
  t.teardown(() => Promise.all(nodes.map(async (n, i) => await n.config('SET', 'slowlog-log-slower-than', saved[i] as string))))
  // Log every command with its duration, then look at the slowest category command.
  await Promise.all(nodes.map(async n => { await n.config('SET', 'slowlog-log-slower-than', '0'); await n.slowlog('RESET') }))
  // The largest tree the defaults allow, 10,000 categories, made flat (one parent with 9,999 children: the
  // longest children field) and deep (32 levels), then read page by page and attached to at the cap.
  t.equal((await post(app, flat('f', 10_000))).statusCode, 201)
  const deep = { name: 'deep', children: Array.from({ length: 99 }, (_, b) => ({ ...chain(`d${b}`, 31) })) }
  // 1 + 99 × 31 = 3,070 categories, 32 levels
  t.equal((await post(app, deep)).statusCode, 201)
  let cursor: number | undefined
  let pages = 0
  do {
    const page = (await app.inject(`/categories/1/${cursor ? `?cursor=${cursor}` : ''}`)).json()
    cursor = page.next_cursor
    pages++
  } while (cursor !== undefined)
  t.equal(pages, 10)
  t.equal((await app.inject('/categories/5000/')).json().siblings.length, 1000)
  t.equal((await post(app, { name: 'full', parent_id: 2 })).statusCode, 400)
  t.equal((await app.inject('/categories/10001/?cursor=10031')).statusCode, 200)
  t.equal((await app.inject('/categories/10031/')).json().parents.length, 30)
  let slowest = 0
  for (const n of nodes) {
    const entries = await n.slowlog('GET', 1000) as Array<[number, number, number, string[]]>
    for (const [, , micros, args] of entries) {
      if (/^(evalsha|eval|fcall)$/i.test(String(args[0]))) slowest = Math.max(slowest, micros)
    }
  }
  t.comment(`slowest category script: ${(slowest / 1000).toFixed(1)} ms`)
  t.ok(slowest > 0, 'the scripts were logged')
  t.ok(slowest < 50_000, `slowest category script ${slowest} µs < 50 ms`)
})
