-- IdiomCollections: array fill, fold, map and iteration, and a growable vector
-- (twin of bench/IdiomCollections.som; the fold, map, iteration and vector are
-- closures and a small class, as the Smalltalk's blocks and Vector are).
-- Size: 60 rounds over 1000 elements. Verification: 60 x 1501500 = 90090000.

local Vector = {}
Vector.__index = Vector
function Vector.new() return setmetatable({ storage = {}, n = 0 }, Vector) end
function Vector:append(e) self.n = self.n + 1; self.storage[self.n] = e end
function Vector:at(i) return self.storage[i] end
function Vector:size() return self.n end
function Vector:each(f) for i = 1, self.n do f(self.storage[i]) end end

local function inject(arr, acc, f)
  for i = 1, #arr do acc = f(acc, arr[i]) end
  return acc
end
local function collect(arr, f)
  local out = {}
  for i = 1, #arr do out[i] = f(arr[i]) end
  return out
end
local function each(arr, f) for i = 1, #arr do f(arr[i]) end end

return {
  name = "IdiomCollections",
  benchmark = function()
    local sum = 0
    for _ = 1, 60 do
      local arr = {}
      for i = 1, 1000 do arr[i] = i end
      sum = sum + inject(arr, 0, function(acc, e) return acc + e end)
      arr = collect(arr, function(e) return e * 2 end)
      each(arr, function(e) sum = sum + e end)
      local vec = Vector.new()
      each(arr, function(e) vec:append(e) end)
      for i = 1, vec:size() do sum = sum + vec:at(i) end
      vec:each(function(e) sum = sum - e end)
    end
    return sum
  end,
  verify = function(result) return result == 90090000 end,
}
