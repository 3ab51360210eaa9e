import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Cluster } from 'ioredis'
import { allKeys, build } from '../helpers/app.js'
import { keySlot, perKey } from '../../src/plugins/infra/gather.js'

type Test = import('tap').Test
interface Ref { id: number, name: string }

// One app for the file (subtests run one after another); each test starts from an empty database so ids are
// predictable. The Redis (one node or a cluster) is this file's own, so emptying it touches nobody else.
let shared: Promise<FastifyInstance> | undefined
async function fresh (_t: Test): Promise<FastifyInstance> {
  shared ??= build(t)
  const app = await shared
  await perKey(app.redis, await allKeys(app.redis), (pipeline, key) => { pipeline.del(key) })
  return app
}

/** Every node that serves keys: the Redis itself, or each master of a cluster. */
const servers = (app: FastifyInstance) => app.redis instanceof Cluster ? app.redis.nodes('master') : [app.redis]

const leaves = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}.${i + 1}` }))

// The original service's fixture: 15 categories.
const FIXTURE = {
  name: 'Category 1',
  children: [
    {
      name: 'Category 1.1',
      children: [
        { name: 'Category 1.1.1', children: leaves('Category 1.1.1', 3) },
        { name: 'Category 1.1.2', children: leaves('Category 1.1.2', 3) }
      ]
    },
    {
      name: 'Category 1.2',
      children: [
        { name: 'Category 1.2.1' },
        { name: 'Category 1.2.2', children: leaves('Category 1.2.2', 2) }
      ]
    }
  ]
}

const PRE_ORDER = [
  'Category 1', 'Category 1.1', 'Category 1.1.1', 'Category 1.1.1.1', 'Category 1.1.1.2', 'Category 1.1.1.3',
  'Category 1.1.2', 'Category 1.1.2.1', 'Category 1.1.2.2', 'Category 1.1.2.3', 'Category 1.2', 'Category 1.2.1',
  'Category 1.2.2', 'Category 1.2.2.1', 'Category 1.2.2.2'
]

/** Category writes need an account: a REST JWT of an ordinary (non-admin) player. */
async function bearer (app: FastifyInstance) {
  return { authorization: `Bearer ${(await app.auth.signJwt({ username: 'player', admin: false })).jwt}` }
}

async function post (app: FastifyInstance, payload: unknown, url = '/categories/') {
  return await app.inject({ method: 'POST', url, headers: await bearer(app), payload: payload as object })
}

async function withFixture (t: Test) {
  const app = await fresh(t)
  const res = await post(app, FIXTURE)
  t.equal(res.statusCode, 201)
  t.same(res.json(), { id: 1, count: 15 })
  return app
}

const ids = (refs: Ref[]) => refs.map(r => r.id)

/** A chain a → a.1 → a.1.1 … of `depth` levels. */
function chain (depth: number, prefix = 'level') {
  const root: { name: string, children?: unknown[] } = { name: `${prefix} 1` }
  let node = root
  for (let i = 2; i <= depth; i++) {
    const child = { name: `${prefix} ${i}` }
    node.children = [child]
    node = child
  }
  return root
}

t.test('POST /categories/ creates the fixture with ids assigned depth-first pre-order', async (t) => {
  const app = await withFixture(t)
  for (let id = 1; id <= 15; id++) {
    const res = await app.inject(`/categories/${id}/`)
    t.equal(res.statusCode, 200, `id ${id}`)
    t.equal(res.json().name, PRE_ORDER[id - 1], `id ${id}`)
  }
})

t.test('GET /categories/3/ returns its ancestors nearest first, descendants and siblings', async (t) => {
  const app = await withFixture(t)
  const res = await app.inject('/categories/3/')
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    id: 3,
    name: 'Category 1.1.1',
    parents: [{ id: 2, name: 'Category 1.1' }, { id: 1, name: 'Category 1' }],
    children: [{ id: 4, name: 'Category 1.1.1.1' }, { id: 5, name: 'Category 1.1.1.2' }, { id: 6, name: 'Category 1.1.1.3' }],
    direct_children: [{ id: 4, name: 'Category 1.1.1.1' }, { id: 5, name: 'Category 1.1.1.2' }, { id: 6, name: 'Category 1.1.1.3' }],
    siblings: [{ id: 7, name: 'Category 1.1.2' }]
  })
})

t.test('GET of the root lists every descendant in pre-order and only the first level as direct_children', async (t) => {
  const app = await withFixture(t)
  const body = (await app.inject('/categories/1')).json()
  t.same(body.parents, [])
  t.same(ids(body.children), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
  t.same(body.children.map((r: Ref) => r.name), PRE_ORDER.slice(1))
  t.same(ids(body.direct_children), [2, 11])
  t.same(body.siblings, [])
})

t.test('GET of a leaf has no children and its siblings exclude itself', async (t) => {
  const app = await withFixture(t)
  const body = (await app.inject('/categories/9/')).json()
  t.same(ids(body.parents), [7, 2, 1])
  t.same(body.children, [])
  t.same(body.direct_children, [])
  t.same(ids(body.siblings), [8, 10])
})

t.test('root categories are siblings of each other', async (t) => {
  const app = await withFixture(t)
  t.same((await post(app, { name: 'Second root' })).json(), { id: 16, count: 1 })
  t.same((await post(app, { name: 'Third root', children: [] })).json(), { id: 17, count: 1 })
  t.same(ids((await app.inject('/categories/16/')).json().siblings), [1, 17])
  t.same(ids((await app.inject('/categories/1/')).json().siblings), [16, 17])
})

t.test('both slash forms route for POST and GET', async (t) => {
  const app = await fresh(t)
  const a = await post(app, { name: 'with slash' }, '/categories/')
  const b = await post(app, { name: 'without slash' }, '/categories')
  t.same([a.statusCode, b.statusCode], [201, 201])
  t.same(a.json(), { id: 1, count: 1 })
  t.same(b.json(), { id: 2, count: 1 })
  t.equal((await app.inject('/categories/2/')).json().name, 'without slash')
  t.equal((await app.inject('/categories/2')).json().name, 'without slash')
})

t.test('unknown ids answer 404 with a message, and a non-numeric id 400', async (t) => {
  const app = await withFixture(t)
  for (const url of ['/categories/0/', '/categories/16/', '/categories/16', '/categories/99999999999999999999/']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, url)
    t.match(res.json(), { message: String, code: 'PLAYFIELD_NOT_FOUND' }, url)
  }
  t.equal((await app.inject('/categories/16/')).json().message, 'category 16 not found')
  for (const url of ['/categories/abc/', '/categories/1.5', '/categories/-1/']) {
    t.equal((await app.inject(url)).statusCode, 400, url)
  }
})

t.test('names are trimmed before they are stored and compared', async (t) => {
  const app = await fresh(t)
  t.equal((await post(app, { name: '  Padded  ', children: [{ name: '\tInner\n' }] })).statusCode, 201)
  t.same((await app.inject('/categories/2/')).json().parents, [{ id: 1, name: 'Padded' }])
  const dup = await post(app, { name: 'Padded' })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().message, 'a category named "Padded" already exists')
})

t.test('uniqueness is exact: names differing only in case are distinct', async (t) => {
  const app = await fresh(t)
  t.equal((await post(app, { name: 'Shoes' })).statusCode, 201)
  t.equal((await post(app, { name: 'shoes' })).statusCode, 201)
})

t.test('a name that already exists anywhere answers 409 and creates nothing', async (t) => {
  const app = await withFixture(t)
  const res = await post(app, { name: 'New root', children: [{ name: 'New child' }, { name: 'Category 1.2.2.1' }] })
  t.equal(res.statusCode, 409)
  t.same(res.json(), { message: 'a category named "Category 1.2.2.1" already exists', code: 'PLAYFIELD_CONFLICT' })
  t.equal((await app.inject('/categories/16/')).statusCode, 404)
  // Nothing of the rejected tree was kept: its other names are still free, and ids continue at 16.
  t.same((await post(app, { name: 'New root', children: [{ name: 'New child' }] })).json(), { id: 16, count: 2 })
})

t.test('a name given twice in the same body answers 409 and creates nothing', async (t) => {
  const app = await fresh(t)
  const res = await post(app, { name: 'A', children: [{ name: 'B' }, { name: 'C', children: [{ name: ' B ' }] }] })
  t.equal(res.statusCode, 409)
  t.equal(res.json().message, 'the name "B" appears twice in the request (children[0].name and children[1].children[0].name)')
  t.equal((await app.inject('/categories/1/')).statusCode, 404)
})

t.test('invalid formats answer 400 naming the problem', async (t) => {
  const app = await fresh(t)
  const cases: Array<[unknown, string]> = [
    // The route schema answers these two (name is required in the OpenAPI document); the service the rest.
    [{}, "body must have required property 'name'"],
    [[{ name: 'A' }], 'body must be object'],
    [{ name: null }, 'name is required'],
    [{ name: 5 }, 'name must be a string'],
    [{ name: '   ' }, 'name must not be empty'],
    [{ name: 'x'.repeat(129) }, 'name must be at most 128 characters'],
    [{ name: 'A', children: {} }, 'children must be a list'],
    [{ name: 'A', children: 'B' }, 'children must be a list'],
    [{ name: 'A', children: [{ name: 'B' }, 'C'] }, 'children[1] must be an object { name, children? }'],
    [{ name: 'A', children: [{ name: 'B' }, { name: 'C', children: [{ name: true }] }] }, 'children[1].children[0].name must be a string'],
    [{ name: 'A', children: [{ name: 'B', children: [{}] }] }, 'children[0].children[0].name is required'],
    [{ name: 'A', children: [{ name: 'B', children: 3 }] }, 'children[0].children must be a list'],
    [{ name: 'A', children: [{ name: 'B', parent_id: 1 }] }, 'children[0].parent_id is only allowed on the root category'],
    [{ name: 'A', parent_id: 'x' }, 'parent_id must be a positive integer'],
    [{ name: 'A', parent_id: 0 }, 'parent_id must be a positive integer'],
    [{ name: 'A', parent_id: 1.5 }, 'parent_id must be a positive integer']
  ]
  for (const [payload, message] of cases) {
    const res = await post(app, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80))
    t.equal(res.json().message, message, JSON.stringify(payload).slice(0, 80))
  }
  const notJson = await app.inject({ method: 'POST', url: '/categories/', headers: { 'content-type': 'application/json', ...await bearer(app) }, payload: '{"name":' })
  t.equal(notJson.statusCode, 400)
  t.equal((await app.inject('/categories/1/')).statusCode, 404)
})

t.test('a name of 128 characters is accepted, counting code points', async (t) => {
  const app = await fresh(t)
  t.equal((await post(app, { name: 'x'.repeat(128) })).statusCode, 201)
  const emoji = '\u{1F600}'.repeat(128)
  t.equal((await post(app, { name: emoji })).statusCode, 201)
  t.equal((await app.inject('/categories/2/')).json().name, emoji)
  t.equal((await post(app, { name: emoji + 'x' })).statusCode, 400)
})

t.test('a tree 32 levels deep is accepted and 33 levels is a 400', async (t) => {
  const app = await fresh(t)
  t.same((await post(app, chain(32, 'ok'))).json(), { id: 1, count: 32 })
  const deepest = (await app.inject('/categories/32/')).json()
  t.equal(deepest.parents.length, 31)
  t.same(deepest.parents[0], { id: 31, name: 'ok 31' })
  t.same(deepest.parents[30], { id: 1, name: 'ok 1' })
  const res = await post(app, chain(33, 'too deep'))
  t.equal(res.statusCode, 400)
  t.equal(res.json().message, `${'children[0].'.repeat(31)}children[0] is nested 33 levels deep; at most 32 levels are allowed`)
  t.equal((await app.inject('/categories/33/')).statusCode, 404)
})

t.test('a body nested thousands of levels deep is refused with 400, not a crash', async (t) => {
  const app = await fresh(t)
  let payload = '{"name":"bottom"}'
  for (let i = 0; i < 5000; i++) payload = `{"name":"n${i}","children":[${payload}]}`
  const res = await app.inject({ method: 'POST', url: '/categories/', headers: { 'content-type': 'application/json', ...await bearer(app) }, payload })
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /nested 33 levels deep/)
})

t.test('10,000 categories are created in one request and read back in pre-order, page by page', async (t) => {
  const app = await fresh(t)
  // 1 root, 99 branches of 100 nodes each (a branch and its 99 leaves): 1 + 99 * 101 = 10,000.
  const payload = {
    name: 'big',
    children: Array.from({ length: 99 }, (_, b) => ({
      name: `b${b}`,
      children: Array.from({ length: 100 }, (_, l) => ({ name: `b${b}.l${l}` }))
    }))
  }
  t.equal(1 + 99 * 101, 10_000)
  const res = await post(app, payload)
  t.equal(res.statusCode, 201)
  t.same(res.json(), { id: 1, count: 10_000 })
  // Descendants come in pages of at most 1,000 (the default CATEGORIES_PAGE_MAX), next_cursor continuing.
  const root = (await app.inject('/categories/1/')).json()
  t.equal(root.children.length, 1_000)
  t.equal(root.next_cursor, 1_001)
  const all: Ref[] = []
  let cursor: number | undefined
  let pages = 0
  do {
    const page = (await app.inject(`/categories/1/${cursor ? `?cursor=${cursor}` : ''}`)).json()
    all.push(...page.children)
    cursor = page.next_cursor
    pages++
  } while (cursor !== undefined)
  t.equal(pages, 10)
  // Compared as one string: a failing deep diff of 10,000 entries would take tap minutes to print.
  const expected = Array.from({ length: 9_999 }, (_, i) => i + 2)
  t.equal(ids(all).join(','), expected.join(','))
  t.equal(root.direct_children.length, 99)
  const leaf = (await app.inject('/categories/10000/')).json()
  t.same(leaf, {
    id: 10_000,
    name: 'b98.l99',
    parents: [{ id: 9_900, name: 'b98' }, { id: 1, name: 'big' }],
    children: [],
    direct_children: [],
    siblings: Array.from({ length: 99 }, (_, l) => ({ id: 9_901 + l, name: `b98.l${l}` }))
  })
})

t.test('more than 10,000 categories is a 400 and creates nothing', async (t) => {
  const app = await fresh(t)
  const res = await post(app, { name: 'root', children: Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}` })) })
  t.equal(res.statusCode, 400)
  t.equal(res.json().message, 'the tree has more than 10000 categories')
  t.equal((await app.inject('/categories/1/')).statusCode, 404)
})

t.test('parent_id attaches a new tree under an existing category', async (t) => {
  const app = await withFixture(t)
  const res = await post(app, { name: 'Category 1.1.1.4', parent_id: 3, children: [{ name: 'Category 1.1.1.4.1' }] })
  t.equal(res.statusCode, 201)
  t.same(res.json(), { id: 16, count: 2 })
  const three = (await app.inject('/categories/3/')).json()
  t.same(ids(three.direct_children), [4, 5, 6, 16])
  t.same(ids(three.children), [4, 5, 6, 16, 17])
  const added = (await app.inject('/categories/17/')).json()
  t.same(ids(added.parents), [16, 3, 2, 1])
  t.same(ids((await app.inject('/categories/16/')).json().siblings), [4, 5, 6])
  // The root's descendants include the new subtree at its place in pre-order (after 3's existing children).
  t.same(ids((await app.inject('/categories/1/')).json().children), [2, 3, 4, 5, 6, 16, 17, 7, 8, 9, 10, 11, 12, 13, 14, 15])
})

t.test('an unknown parent_id answers 404 and creates nothing', async (t) => {
  const app = await withFixture(t)
  const res = await post(app, { name: 'Orphan', parent_id: 99 })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { message: 'parent category 99 not found', code: 'PLAYFIELD_NOT_FOUND' })
  t.same((await post(app, { name: 'Orphan' })).json(), { id: 16, count: 1 })
})

t.test('concurrent posts of overlapping names never create a duplicate', async (t) => {
  const app = await fresh(t)
  // 20 trees; tree i uses names shared-(i mod 5) and own-i.x, so each shared name is wanted by four requests.
  const trees = Array.from({ length: 20 }, (_, i) => ({
    name: `own-${i}`,
    children: [{ name: `own-${i}.1` }, { name: `shared-${i % 5}` }, { name: `own-${i}.2` }]
  }))
  const results = await Promise.all(trees.map(tree => post(app, tree)))
  const codes = results.map(r => r.statusCode)
  t.same(codes.filter(c => c !== 201 && c !== 409), [])
  const created = results.filter(r => r.statusCode === 201).map(r => r.json() as { id: number, count: number })
  // Exactly one winner per shared name.
  t.equal(created.length, 5)
  const total = created.reduce((sum, c) => sum + c.count, 0)
  t.equal(total, 20)
  const names: string[] = []
  for (let id = 1; id <= total; id++) {
    const res = await app.inject(`/categories/${id}/`)
    t.equal(res.statusCode, 200)
    names.push(res.json().name)
  }
  t.equal((await app.inject(`/categories/${total + 1}/`)).statusCode, 404)
  t.equal(new Set(names).size, total)
  t.same(names.filter(n => n.startsWith('shared-')).sort(), ['shared-0', 'shared-1', 'shared-2', 'shared-3', 'shared-4'])
  // Every winner's ids form one contiguous pre-order range.
  for (const c of created) {
    const root = (await app.inject(`/categories/${c.id}/`)).json()
    t.same(ids(root.children), [c.id + 1, c.id + 2, c.id + 3])
  }
})

t.test('the OpenAPI document lists each categories operation once', async (t) => {
  const app = await fresh(t)
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> }
  const paths = Object.keys(doc.paths).filter(p => p.startsWith('/categories'))
  t.same(paths.sort(), ['/categories/', '/categories/{id}/'])
  t.ok(doc.paths['/categories/']?.post)
  t.ok(doc.paths['/categories/{id}/']?.get)
})

t.test('reads and writes keep working after Redis forgets its scripts (as after a restart)', async (t) => {
  const app = await withFixture(t)
  const flush = () => Promise.all(servers(app).map(node => node.script('FLUSH')))
  await flush()
  t.same(ids((await app.inject('/categories/3/')).json().parents), [2, 1])
  await flush()
  t.same((await post(app, { name: 'After flush' })).json(), { id: 16, count: 1 })
})

t.test('every key the domain writes starts with cat: and shares one hash tag, so one slot', async (t) => {
  const app = await withFixture(t)
  await post(app, { name: 'Under 1.2.1', children: [{ name: 'Under 1.2.1 child' }], parent_id: 12 })
  const keys = await allKeys(app.redis)
  t.same(keys, ['cat:{tree}:children', 'cat:{tree}:name', 'cat:{tree}:names', 'cat:{tree}:parent', 'cat:{tree}:roots',
    'cat:{tree}:seq', 'cat:{tree}:size'], 'no key per category: children are fields of one hash')
  t.same(new Set(keys.map(keySlot)).size, 1)
  const holders = await Promise.all(servers(app).map(async node => (await node.dbsize()) > 0))
  t.equal(holders.filter(Boolean).length, 1, 'the whole domain lies on one node')
  t.same(await app.redis.hget('cat:{tree}:children', '12'), '16')
  t.same(await app.redis.hget('cat:{tree}:children', '2'), '3,7')
  t.same(await app.redis.hget('cat:{tree}:size', '1'), '17', 'the tree of root 1 counts its attached subtree')
})

t.test('random trees read back exactly as a reference model of the posted body says', async (t) => {
  const { default: fc } = await import('fast-check')
  const app = await fresh(t)
  let run = 0
  await fc.assert(fc.asyncProperty(fc.array(fc.nat(), { minLength: 0, maxLength: 40 }), async (choices) => {
    run++
    // Node k + 1 hangs under one of the nodes before it: every shape from a chain to a flat list.
    interface Node { name: string, children: Node[] }
    const made: Node[] = [{ name: `r${run}`, children: [] }]
    choices.forEach((c, k) => {
      const node = { name: `r${run}.${k}`, children: [] }
      made[c % made.length]!.children.push(node)
      made.push(node)
    })
    const res = await post(app, made[0])
    if (res.statusCode !== 201) return false
    const { id: first } = res.json() as { id: number }

    // Reference: pre-order ids, parents, descendants.
    const byId = new Map<number, { name: string, parent?: number, kids: number[] }>()
    let next = first
    const visit = (node: Node, parent?: number): number => {
      const id = next++
      const entry = { name: node.name, parent, kids: [] as number[] }
      byId.set(id, entry)
      for (const child of node.children) entry.kids.push(visit(child, id))
      return id
    }
    visit(made[0]!)
    const descendantsOf = (id: number): number[] => byId.get(id)!.kids.flatMap(k => [k, ...descendantsOf(k)])
    for (const [id, entry] of byId) {
      const body = (await app.inject(`/categories/${id}/`)).json()
      const parents: number[] = []
      for (let p = entry.parent; p !== undefined; p = byId.get(p)!.parent) parents.push(p)
      const siblings = entry.parent === undefined ? undefined : byId.get(entry.parent)!.kids.filter(k => k !== id)
      if (body.name !== entry.name) return false
      if (JSON.stringify(ids(body.parents)) !== JSON.stringify(parents)) return false
      if (JSON.stringify(ids(body.children)) !== JSON.stringify(descendantsOf(id))) return false
      if (JSON.stringify(ids(body.direct_children)) !== JSON.stringify(entry.kids)) return false
      if (siblings && JSON.stringify(ids(body.siblings)) !== JSON.stringify(siblings)) return false
    }
    return true
  }), { numRuns: 30 })
  t.pass('30 random trees matched the model')
})
