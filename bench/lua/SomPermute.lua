-- SomPermute: twin of bench/SomPermute.som (the Stanford permutation benchmark in
-- the style of the are-we-fast-yet Lua sources: recursion, a counting-down loop
-- of swaps on a table).
-- Size: all permutations of 6 elements, 80 times. Verification: 80 * 8660 = 692800.

local count, v

local function swap(i, j)
  local tmp = v[i]
  v[i] = v[j]
  v[j] = tmp
end

local function permute(n)
  count = count + 1
  if n ~= 0 then
    permute(n - 1)
    for i = n, 1, -1 do
      swap(n, i)
      permute(n - 1)
      swap(n, i)
    end
  end
end

return {
  name = "SomPermute",
  benchmark = function()
    count = 0
    for _ = 1, 80 do
      v = { 0, 0, 0, 0, 0, 0 }
      permute(6)
    end
    return count
  end,
  verify = function(result) return result == 692800 end,
}
