-- Sieve: the sieve of Eratosthenes over 2..5000 on an array of booleans
-- (twin of bench/Sieve.som).
-- Size: 100 sieves of 5000 numbers. Verification: 100 * 669 = 66900.

local function primesUpTo(limit)
  local flags = {}
  for i = 1, limit do flags[i] = true end
  local count = 0
  for i = 2, limit do
    if flags[i] then
      count = count + 1
      for k = i + i, limit, i do flags[k] = false end
    end
  end
  return count
end

return {
  name = "Sieve",
  benchmark = function()
    local total = 0
    for _ = 1, 100 do total = total + primesUpTo(5000) end
    return total
  end,
  verify = function(result) return result == 66900 end,
}
