-- IdiomNil: nil tests while walking a linked list (twin of bench/IdiomNil.som).
-- Size: 1000 cells (every tenth value nil), walked 400 times. Verification: 179679600.

local Cell = {}
Cell.__index = Cell
function Cell.new(value, next)
  return setmetatable({ value = value, next = next }, Cell)
end

local function walk(list)
  local e, n = list, 0
  while e ~= nil do
    local v = e.value
    if v == nil then n = n + 0 else n = n + v end
    local x = e.next
    local xv
    if x ~= nil then xv = x.value else xv = 0 end
    if xv == nil then n = n + 1 end
    if e.value ~= nil then n = n - 1 end
    if e.next == nil then return n end
    e = e.next
  end
  return n
end

return {
  name = "IdiomNil",
  benchmark = function()
    local head = nil
    for i = 1, 1000 do
      local v = i
      if (i // 10) * 10 == i then v = nil end
      head = Cell.new(v, head)
    end
    local sum = 0
    for _ = 1, 400 do sum = sum + walk(head) end
    return sum
  end,
  verify = function(result) return result == 179679600 end,
}
