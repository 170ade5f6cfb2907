-- SomTowers: twin of bench/SomTowers.som (towers of Hanoi on piles of linked
-- disks, in the style of the are-we-fast-yet Lua sources: a disk class, piles as
-- a table of top disks, checks raising errors).
-- Size: 13 disks moved 50 times. Verification: 50 * 8191 = 409550 moves.

local Disk = {}
Disk.__index = Disk

function Disk.new(size)
  return setmetatable({ size = size, next = nil }, Disk)
end

local piles, moves_done

local function push_disk(disk, pile)
  local top = piles[pile]
  if top and disk.size >= top.size then
    error('a big disk cannot go on a smaller one')
  end
  disk.next = top
  piles[pile] = disk
end

local function pop_disk_from(pile)
  local top = piles[pile]
  if top == nil then
    error('the pile is empty')
  end
  piles[pile] = top.next
  top.next = nil
  return top
end

local function move_top_disk(from_pile, to_pile)
  push_disk(pop_disk_from(from_pile), to_pile)
  moves_done = moves_done + 1
end

local function build_tower_at(pile, disks)
  for i = disks, 0, -1 do
    push_disk(Disk.new(i), pile)
  end
end

local function move_disks(disks, from_pile, to_pile)
  if disks == 1 then
    move_top_disk(from_pile, to_pile)
  else
    local other_pile = 6 - from_pile - to_pile
    move_disks(disks - 1, from_pile, other_pile)
    move_top_disk(from_pile, to_pile)
    move_disks(disks - 1, other_pile, to_pile)
  end
end

return {
  name = "SomTowers",
  benchmark = function()
    local total = 0
    for _ = 1, 50 do
      piles = {}
      build_tower_at(1, 13)
      moves_done = 0
      move_disks(13, 1, 2)
      total = total + moves_done
    end
    return total
  end,
  verify = function(result) return result == 409550 end,
}
