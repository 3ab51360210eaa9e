// The categories' Lua, loaded by redis-store.ts (and only there). Both scripts take the six keys of
// redis-store.ts in KEYS (seq, names, name, parent, roots, children) and touch no other key: a parent's children
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
// and two requests racing for one name can't both win. ARGV: parent id (0 = new root), then (name, parent index)
// pairs in pre-order; index 0 means "the parent id", i > 0 the i-th node of this tree. Only the parent id can
// already have children (every other parent is new), so its field is the one extended; the others are written.
export const CREATE = CHUNKED + `
local seq, names, name, parent, roots, children = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local parentId = ARGV[1]
local n = (#ARGV - 1) / 2
if parentId ~= '0' and redis.call('HEXISTS', name, parentId) == 0 then return {'no-parent'} end
local list, batch = {}, {}
for i = 1, n do
  local nm = ARGV[2 * i]
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
  local p = tonumber(ARGV[1 + 2 * i])
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
return {'ok', first}
`

// A category and its whole family in one round trip. The descendants walk uses an explicit stack (no recursion
// limit for deep trees); the ancestors walk ends because a parent's id is always smaller than its child's.
// Returns { name, ancestors, direct children, descendants, siblings }, each list flat: id, name, id, name…
export const READ = CHUNKED + `
local name, parent, roots, children = KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id = ARGV[1]
local own = redis.call('HGET', name, id)
if not own then return false end
local function named (ids, skip)
  local kept = {}
  for _, c in ipairs(ids) do
    if c ~= skip then kept[#kept + 1] = c end
  end
  local names = chunked('HMGET', name, kept, {})
  local out = {}
  for i = 1, #kept do
    out[#out + 1] = kept[i]
    out[#out + 1] = names[i]
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
local direct = split(redis.call('HGET', children, id))
local descendants = {}
local stack = {}
for i = #direct, 1, -1 do stack[#stack + 1] = direct[i] end
while #stack > 0 do
  local c = table.remove(stack)
  descendants[#descendants + 1] = c
  local kids = split(redis.call('HGET', children, c))
  for i = #kids, 1, -1 do stack[#stack + 1] = kids[i] end
end
local ownParent = redis.call('HGET', parent, id)
local family
if ownParent == '0' then family = redis.call('LRANGE', roots, 0, -1)
else family = split(redis.call('HGET', children, ownParent)) end
return {own, ancestors, named(direct), named(descendants), named(family, id)}
`
