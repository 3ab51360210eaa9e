import { defineScripts, type RedisClient } from '../infra/lua.js'
import { CREATE, READ } from './scripts.js'
import type { FlatNode } from './tree.js'

// The only file of the categories domain that names keys or talks to Redis. Keys:
//   cat:{tree}:seq            string  last id handed out (INCRBY reserves a whole tree's range at once)
//   cat:{tree}:names          hash    name → id (uniqueness; names are stored trimmed and compared exactly)
//   cat:{tree}:name           hash    id → name
//   cat:{tree}:parent         hash    id → parent id (0 for a root category)
//   cat:{tree}:children:<id>  list    direct children ids, in creation order
//   cat:{tree}:roots          list    root category ids, in creation order
// Hash tag: {tree} on every key (one tag for the whole tree), so both scripts stay inside one Redis Cluster slot.
// Multi-key operations: both scripts, create and read, touch every key above. They get the five fixed keys in
// KEYS but build the children:<id> keys inside Lua from a prefix in ARGV (not declared in KEYS).
const P = 'cat:{tree}:'
const KEYS = [`${P}seq`, `${P}names`, `${P}name`, `${P}parent`, `${P}roots`]

export interface StoredRef { id: number, name: string }
export interface StoredCategory {
  id: number
  name: string
  parents: StoredRef[]
  directChildren: StoredRef[]
  descendants: StoredRef[]
  siblings: StoredRef[]
}

export type CreateOutcome =
  | { kind: 'ok', first: number }
  | { kind: 'no-parent' }
  | { kind: 'exists', name: string }

type Flat = string[]

function refs (flat: Flat): StoredRef[] {
  const out: StoredRef[] = new Array(flat.length / 2)
  for (let i = 0; i < flat.length; i += 2) out[i / 2] = { id: Number(flat[i]), name: flat[i + 1] as string }
  return out
}

export function createCategoryStore (redis: RedisClient) {
  const scripts = defineScripts(redis, 'categories', { create: CREATE, read: READ })
  return {
    async create (parentId: number, nodes: FlatNode[]): Promise<CreateOutcome> {
      const args: Array<string | number> = [`${P}children:`, String(parentId)]
      // Indexes become 1-based for the script; the root's parent (-1) becomes 0, "the parent id".
      for (const node of nodes) args.push(node.name, node.parent + 1)
      const res = await scripts.create(KEYS, args) as [string, (number | string)?]
      if (res[0] === 'ok') return { kind: 'ok', first: Number(res[1]) }
      if (res[0] === 'no-parent') return { kind: 'no-parent' }
      return { kind: 'exists', name: String(res[1]) }
    },

    async read (id: number): Promise<StoredCategory | undefined> {
      const res = await scripts.read(KEYS, [`${P}children:`, String(id)]) as
        [string, Flat, Flat, Flat, Flat] | null
      if (res === null) return undefined
      const [name, ancestors, direct, descendants, siblings] = res
      return {
        id,
        name,
        parents: refs(ancestors),
        directChildren: refs(direct),
        descendants: refs(descendants),
        siblings: refs(siblings)
      }
    }
  }
}

export type CategoryStore = ReturnType<typeof createCategoryStore>
