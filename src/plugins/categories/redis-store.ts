import type { Redis } from 'ioredis'
import { defineScripts, type RedisClient } from '../infra/lua.js'
import { CREATE, READ } from './scripts.js'
import type { FlatNode } from './tree.js'

// The only file of the categories domain that names keys or talks to Redis. Keys:
//   cat:{tree}:seq            string  last id handed out (INCRBY reserves a whole tree's range at once)
//   cat:{tree}:names          hash    name → id (uniqueness; names are stored trimmed and compared exactly)
//   cat:{tree}:name           hash    id → name
//   cat:{tree}:parent         hash    id → parent id (0 for a root category)
//   cat:{tree}:children       hash    id → its direct children's ids in creation order, joined by ','
//   cat:{tree}:roots          list    root category ids, in creation order
//   cat:{tree}:size           hash    root id → categories in its tree (attached subtrees included), for the cap
// Hash tag: {tree}, one for the whole domain, so all categories live in one Redis Cluster slot (one master). That
// is deliberate: ids are global and a tree can be attached under any existing category, so creating one checks
// names against every category and links into any parent, and reading one walks ancestors and descendants across
// trees — there is no narrower unit. Category volume is low (admin-made catalogues, thousands, not millions of
// writes), so one slot is no bottleneck.
// Multi-key operations: both scripts, create and read, touch the seven keys above, all named in KEYS. A parent's
// children are a field of one hash rather than a list per parent: a script can't know every parent's key before
// it walks the tree, and a script must not make up key names (Redis Cluster only tolerates that for keys of the
// same slot). The price: adding children to a parent rewrites its field, O(its children) — roots, the one widely
// shared parent, stay a list.
// Before this layout each parent had a list, cat:{tree}:children:<id>; migrateLegacy moves those into the hash.
const P = 'cat:{tree}:'
const CHILDREN = `${P}children`
const KEYS = [`${P}seq`, `${P}names`, `${P}name`, `${P}parent`, `${P}roots`, CHILDREN, `${P}size`]
const LEGACY_CHILDREN = `${P}children:`

/**
 * Moves the children lists of the layout before (cat:{tree}:children:<id>) into the children hash, for `playfield
 * migrate-keys` on a single Redis; returns how many lists it moved. Each list moves in one MULTI (its field
 * written, the list deleted) and is merged with what the field may already hold, so a second run, or a run after
 * a crash half-way, changes nothing more.
 */
export async function migrateLegacy (redis: Redis): Promise<number> {
  let moved = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${LEGACY_CHILDREN}*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const id = key.slice(LEGACY_CHILDREN.length)
      if (!/^[1-9][0-9]*$/.test(id)) continue
      const [list, field] = await Promise.all([redis.lrange(key, 0, -1), redis.hget(CHILDREN, id)])
      // Ids grow with creation, so creation order is ascending id order.
      const ids = [...new Set([...list, ...(field ? field.split(',') : [])])].sort((a, b) => Number(a) - Number(b))
      await redis.multi().hset(CHILDREN, id, ids.join(',')).del(key).exec()
      moved++
    }
  } while (cursor !== '0')
  return moved
}

export interface StoredRef { id: number, name: string }
export interface StoredCategory {
  id: number
  name: string
  parents: StoredRef[]
  directChildren: StoredRef[]
  descendants: StoredRef[]
  siblings: StoredRef[]
  /** The cursor of the next page of descendants, or undefined on the last page. */
  next?: number
}

export type CreateOutcome =
  | { kind: 'ok', first: number }
  | { kind: 'no-parent' }
  | { kind: 'exists', name: string }
  | { kind: 'too-deep', levels: number }
  | { kind: 'too-big', count: number }

export interface CreateLimits { maxNodes: number, maxDepth: number, depth: number }

type Flat = string[]

function refs (flat: Flat): StoredRef[] {
  const out: StoredRef[] = new Array(flat.length / 2)
  for (let i = 0; i < flat.length; i += 2) out[i / 2] = { id: Number(flat[i]), name: flat[i + 1] as string }
  return out
}

export function createCategoryStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'categories', { create: CREATE, read: READ })
  return {
    async create (parentId: number, nodes: FlatNode[], limits: CreateLimits): Promise<CreateOutcome> {
      const args: Array<string | number> = [String(parentId), limits.maxNodes, limits.maxDepth, limits.depth]
      // Indexes become 1-based for the script; the root's parent (-1) becomes 0, "the parent id".
      for (const node of nodes) args.push(node.name, node.parent + 1)
      const res = await scripts.create(KEYS, args) as [string, (number | string)?]
      if (res[0] === 'ok') return { kind: 'ok', first: Number(res[1]) }
      if (res[0] === 'no-parent') return { kind: 'no-parent' }
      if (res[0] === 'too-deep') return { kind: 'too-deep', levels: Number(res[1]) }
      if (res[0] === 'too-big') return { kind: 'too-big', count: Number(res[1]) }
      return { kind: 'exists', name: String(res[1]) }
    },

    /** A category and a page of its family; 'bad-cursor' when the cursor is no descendant of it. */
    async read (id: number, limit: number, cursor = 0): Promise<StoredCategory | 'bad-cursor' | undefined> {
      const res = await scripts.read(KEYS, [String(id), limit, String(cursor)]) as
        [string, string, Flat, Flat, Flat, Flat, string] | null
      if (res === null) return undefined
      if (res[0] === 'bad-cursor') return 'bad-cursor'
      const [, name, ancestors, direct, descendants, siblings, next] = res
      return {
        id,
        name,
        parents: refs(ancestors),
        directChildren: refs(direct),
        descendants: refs(descendants),
        siblings: refs(siblings),
        ...(next !== '0' ? { next: Number(next) } : {})
      }
    }
  }
}

export type CategoryStore = ReturnType<typeof createCategoryStore>
