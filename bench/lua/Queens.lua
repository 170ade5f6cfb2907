-- Queens: count every solution of the eight queens problem by backtracking
-- over rows, with free-column and free-diagonal tables (twin of
-- bench/Queens.som).
-- Size: all solutions of 8 queens, 50 times. Verification: 4600.

local function filled(n, value)
  local t = {}
  for i = 1, n do t[i] = value end
  return t
end

local function solutions(n)
  local freeColumns = filled(n, true)
  local freeUps = filled(2 * n, true)
  local freeDowns = filled(2 * n, true)

  -- Answer the number of ways to complete the board from row r on.
  local function placeRow(r)
    if r > n then return 1 end
    local count = 0
    for c = 1, n do
      if freeColumns[c] and freeUps[r + c] and freeDowns[r - c + n] then
        freeColumns[c] = false
        freeUps[r + c] = false
        freeDowns[r - c + n] = false
        count = count + placeRow(r + 1)
        freeColumns[c] = true
        freeUps[r + c] = true
        freeDowns[r - c + n] = true
      end
    end
    return count
  end

  return placeRow(1)
end

return {
  name = "Queens",
  benchmark = function()
    local total = 0
    for _ = 1, 50 do total = total + solutions(8) end
    return total
  end,
  verify = function(result) return result == 4600 end,
}
