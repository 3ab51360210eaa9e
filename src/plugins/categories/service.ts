import { ConflictError, InvalidArgumentError, NotFoundError } from '../../errors.js'
import type { Category, CategoryCreated } from '../../schemas/categories.js'
import type { CategoryStore } from './redis-store.js'
import { parseTree } from './tree.js'

export interface CategoryLimits {
  /** Most categories in one tree (everything under one root, attached subtrees included). */
  maxNodes: number
  /** Most levels of one tree. */
  maxDepth: number
  /** Default and largest page of a read's lists. */
  pageMax: number
}

export function createCategories ({ store, limits }: { store: CategoryStore, limits: CategoryLimits }) {
  const { maxNodes, maxDepth, pageMax } = limits
  return {
    /**
     * Creates a whole nested tree ({ name, children?, parent_id? }) atomically. The shape and its caps are checked
     * here first (400 naming the exact node or the limit); name uniqueness, the parent and the caps of the tree it
     * joins are checked inside the store's script (409/404/400).
     */
    async create (body: unknown): Promise<CategoryCreated> {
      const { parentId, nodes, depth } = parseTree(body, { maxNodes, maxDepth })
      const outcome = await store.create(parentId, nodes, { maxNodes, maxDepth, depth })
      if (outcome.kind === 'no-parent') throw new NotFoundError(`parent category ${parentId} not found`)
      if (outcome.kind === 'exists') throw new ConflictError(`a category named "${outcome.name}" already exists`)
      if (outcome.kind === 'too-deep') {
        throw new InvalidArgumentError(`category ${parentId} is at level ${outcome.levels}: a tree ${depth} levels deep ` +
          `under it would make its tree ${outcome.levels + depth} levels deep; at most ${maxDepth} levels are allowed`)
      }
      if (outcome.kind === 'too-big') {
        throw new InvalidArgumentError(`the tree of category ${parentId} has ${outcome.count} categories: ` +
          `${nodes.length} more would exceed the limit of ${maxNodes} categories per tree`)
      }
      return { id: outcome.first, count: nodes.length }
    },

    /**
     * A category with all its ancestors (nearest first), one page of its descendants (pre-order; `next_cursor`
     * continues), and at most `limit` direct children and siblings.
     */
    async get (id: number, page: { limit?: number, cursor?: number } = {}): Promise<Category> {
      const limit = page.limit ?? pageMax
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > pageMax) {
        throw new InvalidArgumentError(`limit must be an integer between 1 and ${pageMax}`)
      }
      const cursor = page.cursor ?? 0
      if (!Number.isSafeInteger(cursor) || cursor < 0) throw new InvalidArgumentError('cursor must be a category id')
      const found = Number.isSafeInteger(id) && id > 0 ? await store.read(id, limit, cursor) : undefined
      if (!found) throw new NotFoundError(`category ${id} not found`)
      if (found === 'bad-cursor') throw new InvalidArgumentError(`cursor ${cursor} is not a descendant of category ${id}`)
      return {
        id: found.id,
        name: found.name,
        parents: found.parents,
        children: found.descendants,
        direct_children: found.directChildren,
        siblings: found.siblings,
        ...(found.next !== undefined ? { next_cursor: found.next } : {})
      }
    }
  }
}

export type CategoriesService = ReturnType<typeof createCategories>
