-- SomStorage: twin of bench/SomStorage.som (a tree of tables in the style of the
-- are-we-fast-yet Lua sources: a recursive builder, leaves of 1..10 slots from
-- the 16-bit LCG (seed 74755), inner nodes of 4 children filled by calling a
-- closure per element, as SOM's new:withAll: sends value to its block).
-- Size: 30 trees of depth 7. Verification: 30 * 5461 = 163830 tables.

local Random = {}
Random.__index = Random

function Random.new() return setmetatable({ seed = 74755 }, Random) end

function Random:next()
  self.seed = ((self.seed * 1309) + 13849) & 65535
  return self.seed
end

local count

local function new_with_all(n, fn)
  local t = {}
  for i = 1, n do t[i] = fn() end
  return t
end

local function new_leaf(n)
  local t = {}
  for i = 1, n do t[i] = false end
  return t
end

local function build_tree_depth(depth, random)
  count = count + 1
  if depth == 1 then
    return new_leaf(random:next() % 10 + 1)
  else
    return new_with_all(4, function() return build_tree_depth(depth - 1, random) end)
  end
end

return {
  name = "SomStorage",
  benchmark = function()
    count = 0
    for _ = 1, 30 do build_tree_depth(7, Random.new()) end
    return count
  end,
  verify = function(result) return result == 163830 end,
}
