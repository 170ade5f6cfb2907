-- SomSieve: twin of bench/SomSieve.som (sieve of Eratosthenes in the style of the
-- are-we-fast-yet Lua sources: a table filled with true, a while loop striking
-- out multiples, indices shifted by one).
-- Size: primes up to 5000, 200 times. Verification: 200 * 669 = 133800.

local function sieve(flags, size)
  local prime_count = 0
  for i = 2, size do
    if flags[i - 1] then
      prime_count = prime_count + 1
      local k = i + i
      while k <= size do
        flags[k - 1] = false
        k = k + i
      end
    end
  end
  return prime_count
end

return {
  name = "SomSieve",
  benchmark = function()
    local count = 0
    for _ = 1, 200 do
      local flags = {}
      for j = 1, 5000 do flags[j] = true end
      count = count + sieve(flags, 5000)
    end
    return count
  end,
  verify = function(result) return result == 133800 end,
}
