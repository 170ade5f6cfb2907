-- IdiomPolymorphic: one call site over objects of three and of six classes
-- (twin of bench/IdiomPolymorphic.som; classes are metatables with a method).
-- Size: 1000 passes over 600 objects of each mix. Verification: 3300000.

local kinds = {}
for w = 1, 6 do
  local class = {}
  class.__index = class
  function class.weight(_) return w end
  kinds[w] = class
end

return {
  name = "IdiomPolymorphic",
  benchmark = function()
    local three, six = {}, {}
    for i = 1, 600 do
      three[i] = setmetatable({}, kinds[i % 3 + 1])
      six[i] = setmetatable({}, kinds[i % 6 + 1])
    end
    local sum = 0
    for _ = 1, 1000 do
      for i = 1, #three do sum = sum + three[i]:weight() end
      for i = 1, #six do sum = sum + six[i]:weight() end
    end
    return sum
  end,
  verify = function(result) return result == 3300000 end,
}
