-- SomQueens: twin of bench/SomQueens.som (first solution of eight queens by
-- backtracking, in the style of the are-we-fast-yet Lua sources: tables of free
-- rows and diagonals, `and` on the three look-ups, early return from the loop).
-- Size: 1000 searches. Verification: all succeed, queen rows 1 7 5 8 2 4 6 3.

local free_rows, free_maxs, free_mins, queen_rows

local function filled(n, value)
  local t = {}
  for i = 1, n do t[i] = value end
  return t
end

local function get_row_column(r, c)
  return free_rows[r] and free_maxs[c + r] and free_mins[c - r + 8]
end

local function set_row_column(r, c, v)
  free_rows[r] = v
  free_maxs[c + r] = v
  free_mins[c - r + 8] = v
end

local function place_queen(c)
  for r = 1, 8 do
    if get_row_column(r, c) then
      queen_rows[r] = c
      set_row_column(r, c, false)
      if c == 8 then return true end
      if place_queen(c + 1) then return true end
      set_row_column(r, c, true)
    end
  end
  return false
end

local function queens()
  free_rows = filled(8, true)
  free_maxs = filled(16, true)
  free_mins = filled(16, true)
  queen_rows = filled(8, -1)
  return place_queen(1)
end

local expected = { 1, 7, 5, 8, 2, 4, 6, 3 }

return {
  name = "SomQueens",
  benchmark = function()
    local result = true
    for _ = 1, 1000 do result = result and queens() end
    return result
  end,
  verify = function(result)
    if not result then return false end
    for r = 1, 8 do
      if queen_rows[r] ~= expected[r] then return false end
    end
    return true
  end,
}
