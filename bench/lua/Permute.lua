-- Permute: all permutations of an array in place by recursive swapping, the
-- Stanford benchmark suite's Perm (twin of bench/Permute.som).
-- Size: permutations of 8 elements. Verification: 623530 calls.

local count, elements

local function swap(i, j)
  local t = elements[i]
  elements[i] = elements[j]
  elements[j] = t
end

local function permute(k)
  count = count + 1
  if k ~= 0 then
    permute(k - 1)
    for i = k, 1, -1 do
      swap(k, i)
      permute(k - 1)
      swap(k, i)
    end
  end
end

return {
  name = "Permute",
  benchmark = function()
    count = 0
    elements = {}
    for i = 1, 8 do elements[i] = i end
    permute(8)
    return count
  end,
  verify = function(result) return result == 623530 end,
}
