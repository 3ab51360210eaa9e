import { ConflictError, NotFoundError } from '../../errors.js'
import type { Category, CategoryCreated } from '../../schemas/categories.js'
import type { CategoryStore } from './redis-store.js'
import { parseTree } from './tree.js'

export function createCategories ({ store }: { store: CategoryStore }) {
  return {
    /**
     * Creates a whole nested tree ({ name, children?, parent_id? }) atomically. The shape is checked here first
     * (400 naming the exact node); name uniqueness and the parent are checked inside the store's script (409/404).
     */
    async create (body: unknown): Promise<CategoryCreated> {
      const { parentId, nodes } = parseTree(body)
      const outcome = await store.create(parentId, nodes)
      if (outcome.kind === 'no-parent') throw new NotFoundError(`parent category ${parentId} not found`)
      if (outcome.kind === 'exists') throw new ConflictError(`a category named "${outcome.name}" already exists`)
      return { id: outcome.first, count: nodes.length }
    },

    /** A category with all its ancestors (nearest first), all descendants (pre-order), direct children and siblings. */
    async get (id: number): Promise<Category> {
      const found = Number.isSafeInteger(id) && id > 0 ? await store.read(id) : undefined
      if (!found) throw new NotFoundError(`category ${id} not found`)
      return {
        id: found.id,
        name: found.name,
        parents: found.parents,
        children: found.descendants,
        direct_children: found.directChildren,
        siblings: found.siblings
      }
    }
  }
}

export type CategoriesService = ReturnType<typeof createCategories>
