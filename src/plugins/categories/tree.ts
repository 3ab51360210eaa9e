import { ConflictError, InvalidArgumentError } from '../../errors.js'
import { MAX_NAME_LENGTH } from '../../schemas/categories.js'

/** One category of a posted tree, in depth-first pre-order; `parent` is the index of its parent in that order. */
export interface FlatNode { name: string, parent: number }

export interface ParsedTree {
  /** Existing category to attach the root under, or 0 for a new root category. */
  parentId: number
  nodes: FlatNode[]
  /** Levels of the posted tree (1 for a single category). */
  depth: number
}

/** The caps of one category tree (CATEGORIES_MAX_NODES, CATEGORIES_MAX_DEPTH). */
export interface TreeLimits { maxNodes: number, maxDepth: number }

interface Pending { value: unknown, path: string, depth: number, parent: number }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const field = (path: string, name: string) => (path === '' ? name : `${path}.${name}`)

/**
 * Checks the whole shape of a posted tree and flattens it in pre-order (the order ids are assigned in).
 * Iterative, so a hostile body nested thousands of levels deep is rejected one level past the cap without recursion;
 * the node count is checked as children are queued, so a huge flat list stops at the limit too.
 * Names that repeat inside the body are a conflict (409) like a name that already exists.
 */
export function parseTree (body: unknown, { maxNodes, maxDepth }: TreeLimits): ParsedTree {
  if (!isObject(body)) throw new InvalidArgumentError('body must be an object { name, children? }')
  let parentId = 0
  if (body.parent_id !== undefined && body.parent_id !== null) {
    const p = body.parent_id
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 1) {
      throw new InvalidArgumentError('parent_id must be a positive integer')
    }
    parentId = p
  }

  const nodes: FlatNode[] = []
  const seen = new Map<string, string>()
  const stack: Pending[] = [{ value: body, path: '', depth: 1, parent: -1 }]
  let queued = 1
  let deepest = 1
  while (stack.length > 0) {
    const { value, path, depth, parent } = stack.pop() as Pending
    if (!isObject(value)) throw new InvalidArgumentError(`${path} must be an object { name, children? }`)
    if (depth > maxDepth) {
      throw new InvalidArgumentError(`${path} is nested ${depth} levels deep; at most ${maxDepth} levels are allowed`)
    }
    if (depth > deepest) deepest = depth
    if (path !== '' && value.parent_id !== undefined) {
      throw new InvalidArgumentError(`${field(path, 'parent_id')} is only allowed on the root category`)
    }
    const namePath = field(path, 'name')
    if (value.name === undefined || value.name === null) throw new InvalidArgumentError(`${namePath} is required`)
    if (typeof value.name !== 'string') throw new InvalidArgumentError(`${namePath} must be a string`)
    const name = value.name.trim()
    if (name === '') throw new InvalidArgumentError(`${namePath} must not be empty`)
    // Characters are code points, so a name of 128 emoji is as valid as 128 letters.
    if (name.length > MAX_NAME_LENGTH && [...name].length > MAX_NAME_LENGTH) {
      throw new InvalidArgumentError(`${namePath} must be at most ${MAX_NAME_LENGTH} characters`)
    }
    const earlier = seen.get(name)
    if (earlier !== undefined) {
      throw new ConflictError(`the name "${name}" appears twice in the request (${earlier} and ${namePath})`)
    }
    seen.set(name, namePath)
    const index = nodes.length
    nodes.push({ name, parent })

    const children = value.children
    if (children === undefined || children === null) continue
    const childrenPath = field(path, 'children')
    if (!Array.isArray(children)) throw new InvalidArgumentError(`${childrenPath} must be a list`)
    queued += children.length
    if (queued > maxNodes) throw new InvalidArgumentError(`the tree has more than ${maxNodes} categories`)
    // Pushed in reverse so the first child is popped first: pre-order.
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({ value: children[i], path: `${childrenPath}[${i}]`, depth: depth + 1, parent: index })
    }
  }
  return { parentId, nodes, depth: deepest }
}
