-- ReverseComplement: the benchmarks game's reverse-complement (twin of
-- bench/ReverseComplement.som): each of the three sequences of Fasta's output for
-- n = 25000 (made in-program by BenchFasta.lua, once) is written reverse-complemented,
-- upper case, in lines of 60; every output byte (10 ends a line) is hashed:
-- h = (h * 31 + byte) rem 1000000007. Verification: hash 78384935.

local dir = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local BenchFasta = dofile(dir .. "BenchFasta.lua")

local function complementTable()
  local from = { 65, 67, 71, 84, 85, 77, 82, 87, 83, 89, 75, 86, 72, 68, 66, 78 }
  local to = { 84, 71, 67, 65, 65, 75, 89, 87, 83, 82, 77, 66, 68, 72, 86, 78 }
  local table = {}
  for i = 1, 128 do table[i] = 0 end
  for i = 1, #from do
    table[from[i]] = to[i]
    table[from[i] + 32] = to[i]
  end
  return table
end

local input, complement

local function hashReverseComplement(h, sequence)
  local column = 0
  for i = #sequence, 1, -1 do
    h = (h * 31 + complement[sequence[i]]) % 1000000007
    column = column + 1
    if column == 60 then
      h = (h * 31 + 10) % 1000000007
      column = 0
    end
  end
  if column ~= 0 then h = (h * 31 + 10) % 1000000007 end
  return h
end

return {
  name = "ReverseComplement",
  benchmark = function()
    if not input then
      input = BenchFasta.sequencesFor(25000)
      complement = complementTable()
    end
    local hash = 0
    for _, sequence in ipairs(input) do hash = hashReverseComplement(hash, sequence) end
    return hash
  end,
  verify = function(result) return result == 78384935 end,
}
