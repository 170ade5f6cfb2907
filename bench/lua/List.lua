-- List: Gabriel's TAKL, Takeuchi's function on linked lists whose lengths
-- stand for the numbers (twin of bench/List.som and ListElement.som).
-- Size: tail(list 18, list 12, list 6), 3 times. Verification: 3 * 7 = 21.

local Element = {}
Element.__index = Element
function Element.new(value, next)
  return setmetatable({ value = value, next = next }, Element)
end

local function makeList(n)
  if n == 0 then return nil end
  return Element.new(n, makeList(n - 1))
end

local function lengthOf(list)
  local e, n = list, 0
  while e ~= nil do
    n = n + 1
    e = e.next
  end
  return n
end

-- Answer whether list x is shorter than list y.
local function isShorter(x, y)
  local xt, yt = x, y
  while yt ~= nil do
    if xt == nil then return true end
    xt = xt.next
    yt = yt.next
  end
  return false
end

local function tail(x, y, z)
  if isShorter(y, x) then
    return tail(tail(x.next, y, z), tail(y.next, z, x), tail(z.next, x, y))
  end
  return z
end

return {
  name = "List",
  benchmark = function()
    local total = 0
    for _ = 1, 3 do
      total = total + lengthOf(tail(makeList(18), makeList(12), makeList(6)))
    end
    return total
  end,
  verify = function(result) return result == 21 end,
}
