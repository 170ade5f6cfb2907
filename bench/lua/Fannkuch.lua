-- Fannkuch: the Computer Language Benchmarks Game's fannkuch-redux (twin of
-- bench/Fannkuch.som): for every permutation of 0..n-1, in the benchmark's
-- fixed generation order, count the prefix reversals until 0 comes first.
-- Size: n = 8. Verification: checksum 1616, max flips 22.

local function fannkuch(n)
  local perm, perm1, count = {}, {}, {}
  for i = 1, n do
    perm[i] = 0
    perm1[i] = i - 1
    count[i] = 0
  end
  local maxFlips, checksum, permCount = 0, 0, 0
  local r = n
  while true do
    while r ~= 1 do
      count[r] = r
      r = r - 1
    end

    for i = 1, n do perm[i] = perm1[i] end
    local flips = 0
    local k = perm[1]
    while k ~= 0 do
      local i, j = 1, k + 1
      while i < j do
        local t = perm[i]
        perm[i] = perm[j]
        perm[j] = t
        i = i + 1
        j = j - 1
      end
      flips = flips + 1
      k = perm[1]
    end
    if flips > maxFlips then maxFlips = flips end
    if permCount & 1 == 0 then
      checksum = checksum + flips
    else
      checksum = checksum - flips
    end

    -- Advance to the next permutation: rotate the first r+1 elements.
    local more = true
    while more do
      if r == n then return { checksum, maxFlips } end
      local p0 = perm1[1]
      for i = 1, r do perm1[i] = perm1[i + 1] end
      perm1[r + 1] = p0
      count[r + 1] = count[r + 1] - 1
      if count[r + 1] > 0 then
        more = false
      else
        r = r + 1
      end
    end
    permCount = permCount + 1
  end
end

return {
  name = "Fannkuch",
  benchmark = function() return fannkuch(8) end,
  verify = function(result) return result[1] == 1616 and result[2] == 22 end,
}
