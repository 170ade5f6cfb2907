-- Fasta: the Computer Language Benchmarks Game's fasta (twin of
-- bench/Fasta.som): the ALU sequence repeated for 2n characters, then 3n
-- characters drawn from the IUB table and 5n from the Homo sapiens table
-- (LCG IM 139968, IA 3877, IC 29573, seed 42, cumulative-probability look-up),
-- in lines of 60. Every output byte (10 ends a line) is hashed:
-- h = (h * 31 + byte) rem 1000000007. Headers are left out.
-- Size: n = 25000. Verification: hash 847977159.

local ALU = "GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGG"
  .. "GAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGA"
  .. "CCAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAAT"
  .. "ACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCA"
  .. "GCTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGG"
  .. "AGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCC"
  .. "AGCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA"

local hash, column, last

local function emit(code)
  hash = (hash * 31 + code) % 1000000007
  column = column + 1
  if column == 60 then
    hash = (hash * 31 + 10) % 1000000007
    column = 0
  end
end

local function endSection()
  if column ~= 0 then
    hash = (hash * 31 + 10) % 1000000007
    column = 0
  end
end

local function nextRandom()
  last = (last * 3877 + 29573) % 139968
  return 1.0 * last / 139968
end

local function repeatCodes(codes, n)
  local k = 1
  local size = #codes
  for _ = 1, n do
    emit(codes[k])
    k = k + 1
    if k > size then k = 1 end
  end
  endSection()
end

-- table: an array of pairs { code, probability }.
local function randomFrom(table, n)
  local size = #table
  local codes, cumulative = {}, {}
  local acc = 0.0
  for i = 1, size do
    codes[i] = table[i][1]
    acc = acc + table[i][2]
    cumulative[i] = acc
  end
  for _ = 1, n do
    local r = nextRandom()
    local k = 1
    while k < size and r >= cumulative[k] do k = k + 1 end
    emit(codes[k])
  end
  endSection()
end

local function aluCodes()
  local codes = {}
  for i = 1, #ALU do codes[i] = ALU:byte(i) end
  return codes
end

local function iubTable()
  -- a c g t B D H K M N R S V W Y
  local codes = { 97, 99, 103, 116, 66, 68, 72, 75, 77, 78, 82, 83, 86, 87, 89 }
  local table = {}
  for i = 1, 15 do table[i] = { codes[i], 0.02 } end
  table[1][2] = 0.27
  table[2][2] = 0.12
  table[3][2] = 0.12
  table[4][2] = 0.27
  return table
end

local function homoSapiensTable()
  return {
    { 97, 0.3029549426680 },
    { 99, 0.1979883004921 },
    { 103, 0.1975473066391 },
    { 116, 0.3015094502008 },
  }
end

return {
  name = "Fasta",
  benchmark = function()
    hash = 0
    column = 0
    last = 42
    repeatCodes(aluCodes(), 2 * 25000)
    randomFrom(iubTable(), 3 * 25000)
    randomFrom(homoSapiensTable(), 5 * 25000)
    return hash
  end,
  verify = function(result) return result == 847977159 end,
}
