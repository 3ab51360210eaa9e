import { Type, type Static } from 'typebox'

export { ErrorSchema } from './errors.js'

export const MAX_NAME_LENGTH = 128
// Defaults of CATEGORIES_MAX_DEPTH / CATEGORIES_MAX_NODES / CATEGORIES_PAGE_MAX, for the OpenAPI descriptions.
export const MAX_DEPTH = 32
export const MAX_NODES = 10_000
export const PAGE_MAX = 1000

// The body is deliberately loose here: Ajv runs with coerceTypes, which would turn a numeric name into a string,
// and its messages can't name a node deep inside the tree. The service validates the whole shape and answers
// 400 with the exact path ("children[1].children[0].name must be a string").
export const CategoryTreeSchema = Type.Object({
  name: Type.Unknown({ description: `string, trimmed, 1-${MAX_NAME_LENGTH} characters, unique across all categories` }),
  children: Type.Optional(Type.Unknown({ description: 'array of nodes of this same shape ({ name, children? })' })),
  parent_id: Type.Optional(Type.Unknown({ description: 'root only: id of an existing category to attach the new tree under' }))
}, {
  description: 'A nested tree created atomically; a whole tree (attached subtrees included) holds at most ' +
    `CATEGORIES_MAX_NODES categories (default ${MAX_NODES}) and CATEGORIES_MAX_DEPTH levels (default ${MAX_DEPTH})`
})

export const CategoryCreatedSchema = Type.Object({
  id: Type.Integer({ description: 'id of the root of the new tree; ids are assigned depth-first, pre-order' }),
  count: Type.Integer({ description: 'number of categories created' })
})
export type CategoryCreated = Static<typeof CategoryCreatedSchema>

export const CategoryRefSchema = Type.Object({ id: Type.Integer(), name: Type.String() })
export type CategoryRef = Static<typeof CategoryRefSchema>

export const CategorySchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  parents: Type.Array(CategoryRefSchema, { description: 'all ancestors, nearest first' }),
  children: Type.Array(CategoryRefSchema, {
    description: 'one page of the descendants (at most `limit`), depth-first pre-order; next_cursor continues'
  }),
  direct_children: Type.Array(CategoryRefSchema, {
    description: 'the first level of descendants, in creation order (the first `limit`)'
  }),
  siblings: Type.Array(CategoryRefSchema, {
    description: 'categories with the same parent, excluding this one (the first `limit`); root categories are siblings of each other'
  }),
  next_cursor: Type.Optional(Type.Integer({ description: 'present when more descendants follow: pass it as ?cursor=' }))
})
export type Category = Static<typeof CategorySchema>

export const CategoryParamsSchema = Type.Object({ id: Type.Integer({ minimum: 0, description: 'category id' }) })

export const CategoryQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({
    minimum: 1, description: `page size of each list; default and most: CATEGORIES_PAGE_MAX (default ${PAGE_MAX})`
  })),
  cursor: Type.Optional(Type.Integer({ minimum: 1, description: 'next_cursor of the page before' }))
})
