-- Towers: the towers of Hanoi with real disks (twin of bench/Towers.som and
-- TowersDisk.som): each pile is a linked stack of disk objects and every move
-- checks that no disk is put on a smaller one.
-- Size: 17 disks. Verification: 131071 moves, all disks on the target pile.

local Disk = {}
Disk.__index = Disk
function Disk.new(size) return setmetatable({ size = size, next = nil }, Disk) end

local piles, moves

local function push(disk, pile)
  local top = piles[pile]
  if top ~= nil and disk.size >= top.size then
    error("Towers: cannot put a big disk on a smaller one")
  end
  disk.next = top
  piles[pile] = disk
end

local function pop(pile)
  local top = piles[pile]
  if top == nil then error("Towers: pile is empty") end
  piles[pile] = top.next
  top.next = nil
  return top
end

local function moveTopFrom(from, to)
  push(pop(from), to)
  moves = moves + 1
end

local function move(n, from, to)
  if n == 1 then return moveTopFrom(from, to) end
  local other = 6 - from - to
  move(n - 1, from, other)
  moveTopFrom(from, to)
  move(n - 1, other, to)
end

local function heightOf(pile)
  local disk = piles[pile]
  local height = 0
  while disk ~= nil do
    height = height + 1
    disk = disk.next
  end
  return height
end

return {
  name = "Towers",
  benchmark = function()
    local disks = 17
    piles = { nil, nil, nil }
    moves = 0
    for size = disks, 1, -1 do push(Disk.new(size), 1) end
    move(disks, 1, 2)
    if heightOf(2) ~= disks then return -1 end
    return moves
  end,
  verify = function(result) return result == 131071 end,
}
