-- SomList: twin of bench/SomList.som (TAKL on linked lists, in the style of the
-- are-we-fast-yet Lua sources: an element class with a setter and a recursive
-- length, the shorter-than test returning from inside its loop).
-- Size: tail(list 15, list 10, list 6), 100 times. Verification: 100 * 10 = 1000.

local Element = {}
Element.__index = Element

function Element.new(value)
  return setmetatable({ value = value, next = nil }, Element)
end

function Element:length()
  if self.next == nil then
    return 1
  else
    return 1 + self.next:length()
  end
end

function Element:set_next(element)
  self.next = element
end

local function make_list(length)
  if length == 0 then
    return nil
  else
    local e = Element.new(length)
    e:set_next(make_list(length - 1))
    return e
  end
end

local function is_shorter(x, y)
  local x_tail, y_tail = x, y
  while y_tail ~= nil do
    if x_tail == nil then return true end
    x_tail = x_tail.next
    y_tail = y_tail.next
  end
  return false
end

local function tail(x, y, z)
  if is_shorter(y, x) then
    return tail(tail(x.next, y, z), tail(y.next, z, x), tail(z.next, x, y))
  else
    return z
  end
end

return {
  name = "SomList",
  benchmark = function()
    local sum = 0
    for _ = 1, 100 do
      local answer = tail(make_list(15), make_list(10), make_list(6))
      sum = sum + answer:length()
    end
    return sum
  end,
  verify = function(result) return result == 1000 end,
}
