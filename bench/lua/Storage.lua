-- Storage: allocation of many arrays (twin of bench/Storage.som): a tree of
-- depth 8 whose inner nodes are arrays of 4 subtrees and whose leaves are
-- arrays of 1..10 slots (sizes from BenchRandom, Park-Miller, seed 74755).
-- Size: 8 trees of depth 8. Verification: 174760 arrays, 721905 leaf slots.
--
-- SOM's `Array new: n` allocates n slots (all nil) in one go. Lua 5.4 has no
-- table.create, so a table of n slots is made by a constructor of n `false`s,
-- which also allocates its array part once, at the right size.

local Random = {}
Random.__index = Random
function Random.new() return setmetatable({ seed = 74755 }, Random) end
function Random:next()
  local seed = (self.seed * 16807) % 2147483647
  self.seed = seed
  return seed
end
function Random:nextBelow(n) return self:next() % n end

-- An array of n slots (n <= 10), allocated in one go.
local function newArray(n)
  if n <= 5 then
    if n == 1 then return { false } end
    if n == 2 then return { false, false } end
    if n == 3 then return { false, false, false } end
    if n == 4 then return { false, false, false, false } end
    return { false, false, false, false, false }
  end
  if n == 6 then return { false, false, false, false, false, false } end
  if n == 7 then return { false, false, false, false, false, false, false } end
  if n == 8 then return { false, false, false, false, false, false, false, false } end
  if n == 9 then return { false, false, false, false, false, false, false, false, false } end
  return { false, false, false, false, false, false, false, false, false, false }
end

local random, arrays, leafSlots

local function buildTree(depth)
  arrays = arrays + 1
  if depth == 1 then
    local n = random:nextBelow(10) + 1
    leafSlots = leafSlots + n
    return newArray(n)
  end
  local node = { false, false, false, false }
  for i = 1, 4 do node[i] = buildTree(depth - 1) end
  return node
end

return {
  name = "Storage",
  benchmark = function()
    random = Random.new()
    arrays = 0
    leafSlots = 0
    for _ = 1, 8 do buildTree(8) end
    return { arrays, leafSlots }
  end,
  verify = function(result) return result[1] == 174760 and result[2] == 721905 end,
}
