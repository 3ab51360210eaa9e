// The categories' Lua, loaded by redis-store.ts (and only there). Both scripts take the seven keys of
// redis-store.ts in KEYS (seq, names, name, parent, roots, children, size) and touch no other key: a parent's children
// are one field of the children hash (ids joined by ','), never a key made up inside the script.

// Variadic calls in chunks: one redis.call per thousand arguments instead of one per category, and unpack()
// stays far below Lua's C-stack limit. With `out`, replies (HMGET) are appended to it in order.
const CHUNKED = `
local function chunked (cmd, key, args, out)
  for i = 1, #args, 1000 do
    local r = redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
    if out then for j = 1, #r do out[#out + 1] = r[j] end end
  end
  return out
end

-- A children field ('3,4,9') as a list of id strings; nil or false (no children) is an empty list.
local function split (ids)
  local out = {}
  if ids then for c in string.gmatch(ids, '%d+') do out[#out + 1] = c end end
  return out
end
`

// Every check runs before the first write, and a script runs alone, so a tree is stored whole or not at all,
// and two requests racing for one name can't both win. ARGV: parent id (0 = new root), the most categories one
// tree may hold, the most levels, the posted tree's own levels, then (name, parent index) pairs in pre-order;
// index 0 means "the parent id", i > 0 the i-th node of this tree. Only the parent id can already have children
// (every other parent is new), so its field is the one extended; the others are written.
// A tree is everything under one root category, subtrees attached later with parent_id included: its size is
// kept per root in the size hash (a tree stored before that field existed is counted once, then kept), and its
// depth is the attach point's depth (a walk up of at most max-depth steps) plus the posted levels.
export const CREATE = CHUNKED + `
local seq, names, name, parent, roots, children, size = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local parentId = ARGV[1]
local maxNodes, maxDepth, depth = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n = (#ARGV - 4) / 2
local root = nil
if parentId ~= '0' then
  if redis.call('HEXISTS', name, parentId) == 0 then return {'no-parent'} end
  local levels, p = 1, parentId
  root = parentId
  p = redis.call('HGET', parent, p)
  while p ~= '0' do
    levels = levels + 1
    root = p
    p = redis.call('HGET', parent, p)
  end
  if levels + depth > maxDepth then return {'too-deep', levels} end
  local count = tonumber(redis.call('HGET', size, root) or '-1')
  if count < 0 then
    count = 0
    local stack = {root}
    while #stack > 0 do
      local c = table.remove(stack)
      count = count + 1
      for _, k in ipairs(split(redis.call('HGET', children, c))) do stack[#stack + 1] = k end
    end
    redis.call('HSET', size, root, count)
  end
  if count + n > maxNodes then return {'too-big', count} end
end
local list, batch = {}, {}
for i = 1, n do
  local nm = ARGV[3 + 2 * i]
  if batch[nm] then return {'exists', nm} end
  batch[nm] = true
  list[i] = nm
end
local found = chunked('HMGET', names, list, {})
for i = 1, n do
  if found[i] then return {'exists', list[i]} end
end
local first = redis.call('INCRBY', seq, n) - n + 1
local byName, byId, parents, kids, pids = {}, {}, {}, {}, {}
for i = 1, n do
  local id = first + i - 1
  local p = tonumber(ARGV[4 + 2 * i])
  local pid = parentId
  if p > 0 then pid = tostring(first + p - 1) end
  byName[#byName + 1] = list[i]; byName[#byName + 1] = id
  byId[#byId + 1] = id; byId[#byId + 1] = list[i]
  parents[#parents + 1] = id; parents[#parents + 1] = pid
  if not kids[pid] then kids[pid] = {}; pids[#pids + 1] = pid end
  local k = kids[pid]
  k[#k + 1] = id
end
chunked('HSET', names, byName)
chunked('HSET', name, byId)
chunked('HSET', parent, parents)
local fields = {}
for _, pid in ipairs(pids) do
  if pid == '0' then
    chunked('RPUSH', roots, kids[pid])
  else
    local ids = table.concat(kids[pid], ',')
    if pid == parentId then
      local old = redis.call('HGET', children, pid)
      if old then ids = old .. ',' .. ids end
    end
    fields[#fields + 1] = pid; fields[#fields + 1] = ids
  end
end
chunked('HSET', children, fields)
if root then redis.call('HINCRBY', size, root, n) else redis.call('HSET', size, first, n) end
return {'ok', first}
`

// A category and its family in one round trip, each list bounded: at most `limit` descendants per call (a page of
// the pre-order walk), and at most `limit` direct children and siblings. ARGV: id, limit, cursor (0 = the first
// page, else the last descendant id of the page before). The walk resumes from the cursor without replaying the
// pages before: the rest of the pre-order is the cursor's children, then its later siblings, then its parent's
// later siblings, and so on up to the category read — a walk up of at most the tree's depth. The ancestors walk
// ends because a parent's id is always smaller than its child's.
// Returns {'ok', name, ancestors, direct children, descendants, siblings, next cursor or '0'}, each list flat: id,
// name, id, name…; {'bad-cursor'} when the cursor is no descendant of the category; false when there is no such id.
export const READ = CHUNKED + `
local name, parent, roots, children = KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id = ARGV[1]
local limit = tonumber(ARGV[2])
local cursor = ARGV[3]
local own = redis.call('HGET', name, id)
if not own then return false end
local function named (ids)
  local names = chunked('HMGET', name, ids, {})
  local out = {}
  for i = 1, #ids do
    out[#out + 1] = ids[i]
    out[#out + 1] = names[i]
  end
  return out
end
local function first (ids, skip)
  local kept = {}
  for _, c in ipairs(ids) do
    if #kept >= limit then break end
    if c ~= skip then kept[#kept + 1] = c end
  end
  return kept
end
local function after (ids, x)
  local out, seen = {}, false
  for _, c in ipairs(ids) do
    if seen then out[#out + 1] = c elseif c == x then seen = true end
  end
  return out
end
local ancestors = {}
local p = redis.call('HGET', parent, id)
while p ~= '0' do
  ancestors[#ancestors + 1] = p
  ancestors[#ancestors + 1] = redis.call('HGET', name, p)
  p = redis.call('HGET', parent, p)
end
local directAll = split(redis.call('HGET', children, id))
local stack = {}
if cursor == '0' then
  for i = #directAll, 1, -1 do stack[#stack + 1] = directAll[i] end
else
  if redis.call('HEXISTS', name, cursor) == 0 then return {'bad-cursor'} end
  local levels, x = {}, cursor
  while x ~= id do
    local px = redis.call('HGET', parent, x)
    if px == '0' or tonumber(px) < tonumber(id) then return {'bad-cursor'} end
    levels[#levels + 1] = after(split(redis.call('HGET', children, px)), x)
    x = px
  end
  for l = #levels, 1, -1 do
    local ids = levels[l]
    for i = #ids, 1, -1 do stack[#stack + 1] = ids[i] end
  end
  local kids = split(redis.call('HGET', children, cursor))
  for i = #kids, 1, -1 do stack[#stack + 1] = kids[i] end
end
local descendants = {}
while #stack > 0 and #descendants < limit do
  local c = table.remove(stack)
  descendants[#descendants + 1] = c
  local kids = split(redis.call('HGET', children, c))
  for i = #kids, 1, -1 do stack[#stack + 1] = kids[i] end
end
local nextCursor = '0'
if #stack > 0 then nextCursor = descendants[#descendants] end
local ownParent = redis.call('HGET', parent, id)
local family
if ownParent == '0' then family = redis.call('LRANGE', roots, 0, limit)
else family = split(redis.call('HGET', children, ownParent)) end
return {'ok', own, ancestors, named(first(directAll)), named(descendants), named(first(family, id)), nextCursor}
`
