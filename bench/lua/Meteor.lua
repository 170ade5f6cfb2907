-- Meteor: the benchmarks game's meteor-contest (twin of bench/Meteor.som): fill a board
-- of 5 x 10 hexagonal cells (odd rows shifted half a cell right) with ten five-cell
-- pieces, each used once in any rotation or flip. Boards and pieces are 50-bit masks
-- (bit x + 5y). Every placement that leaves no free region smaller than five cells is
-- listed under its highest cell (piece 4 turned only three ways; each solution found
-- counts with its reverse), then a depth-first search fills the highest free cell first
-- and stops after n = 200 solutions. The answer hashes the number found and the digits
-- of the smallest and the largest solution (h = (h * 31 + x) rem 1000000007).
-- Verification: hash 434308431.

local FULL = (1 << 50) - 1

-- Directions: 0 E, 1 NE, 2 NW, 3 W, 4 SW, 5 SE. The neighbour of cell, or -1.
local function step(d, cell)
  local x, y = cell % 5, cell // 5
  local odd = y % 2
  if d == 0 then x = x + 1
  elseif d == 3 then x = x - 1
  elseif d == 1 then x, y = x + odd, y - 1
  elseif d == 2 then x, y = x + odd - 1, y - 1
  elseif d == 5 then x, y = x + odd, y + 1
  else x, y = x + odd - 1, y + 1 end
  if x < 0 or x > 4 or y < 0 or y > 9 then return -1 end
  return x + 5 * y
end

local function isSet(cell, board) return (board >> cell) & 1 == 1 end

local function maskOf(piece, start)
  local cell = start
  local mask = 1 << cell
  for _, d in ipairs(piece) do
    cell = step(d, cell)
    if cell < 0 then return -1 end
    mask = mask | (1 << cell)
  end
  return mask
end

local function fill(board, cell)
  if cell < 0 or isSet(cell, board) then return board end
  local b = board | (1 << cell)
  for d = 0, 5 do b = fill(b, step(d, cell)) end
  return b
end

local function freeCells(board)
  local n = 0
  for i = 0, 49 do if not isSet(i, board) then n = n + 1 end end
  return n
end

local function firstFreeCell(board)
  for i = 0, 49 do if not isSet(i, board) then return i end end
  return -1
end

local function noIslands(mask)
  local m = mask
  local free = freeCells(m)
  if free < 5 then return false end
  while free > 0 do
    m = fill(m, firstFreeCell(m))
    local left = freeCells(m)
    if free - left < 5 then return false end
    free = left
  end
  return true
end

local PIECES = {
  { 0, 0, 0, 5 }, { 5, 4, 3, 4 }, { 3, 3, 4, 5 }, { 0, 0, 4, 5 }, { 2, 3, 2, 5, 4 },
  { 0, 0, 1, 3 }, { 2, 1, 1, 3 }, { 1, 5, 0, 1 }, { 5, 5, 0, 5 }, { 0, 2, 2, 2 },
}

local function placementsOf(piece, turns)
  local out = {}
  for _ = 1, 2 do
    for _ = 1, turns do
      for cell = 0, 49 do
        local m = maskOf(piece, cell)
        if m >= 0 and noIslands(m) then out[#out + 1] = m end
      end
      local turned = {}
      for i, d in ipairs(piece) do turned[i] = (d + 1) % 6 end
      piece = turned
    end
    local flipped = {}
    for i, d in ipairs(piece) do flipped[i] = (9 - d) % 6 end
    piece = flipped
  end
  return out
end

local function highestCell(mask)
  local i = 49
  while not isSet(i, mask) do i = i - 1 end
  return i
end

local masksAtCell, placed, found, smallest, largest, limit

local function generateMasks()
  masksAtCell = {}
  for cell = 1, 50 do
    masksAtCell[cell] = {}
    for c = 1, 10 do masksAtCell[cell][c] = {} end
  end
  for c = 1, 10 do
    local ms = placementsOf(PIECES[c], c == 5 and 3 or 6)
    table.sort(ms, function(a, b) return a > b end)
    for _, m in ipairs(ms) do
      local list = masksAtCell[highestCell(m) + 1][c]
      list[#list + 1] = m
    end
  end
end

local function isBefore(a, b)
  for i = 1, 50 do
    if a[i] < b[i] then return true end
    if a[i] > b[i] then return false end
  end
  return false
end

local function keep(s)
  if smallest == nil or isBefore(s, smallest) then smallest = s end
  if largest == nil or isBefore(largest, s) then largest = s end
end

local function record()
  local s = {}
  for i = 0, 49 do
    for c = 1, 10 do
      if isSet(i, placed[c]) then s[i + 1] = c - 1 end
    end
  end
  local r = {}
  for i = 1, 50 do r[i] = s[51 - i] end
  found = found + 2
  keep(s)
  keep(r)
end

local function solveCell(start, board)
  if found >= limit then return end
  if board == FULL then return record() end
  local cell = start
  while cell >= 0 and isSet(cell, board) do cell = cell - 1 end
  if cell < 0 then return end
  for c = 1, 10 do
    if placed[c] == 0 then
      for _, m in ipairs(masksAtCell[cell + 1][c]) do
        if m & board == 0 then
          placed[c] = m
          solveCell(cell - 1, board | m)
          placed[c] = 0
        end
      end
    end
  end
end

return {
  name = "Meteor",
  benchmark = function()
    limit, found, smallest, largest = 200, 0, nil, nil
    placed = {}
    for c = 1, 10 do placed[c] = 0 end
    generateMasks()
    solveCell(49, 0)
    local h = found
    for _, d in ipairs(smallest) do h = (h * 31 + d) % 1000000007 end
    for _, d in ipairs(largest) do h = (h * 31 + d) % 1000000007 end
    return h
  end,
  verify = function(result) return result == 434308431 end,
}
