-- BenchFasta (twin of bench/BenchFasta.som, a helper, not a benchmark): the input of the
-- programs that read a FASTA file, made in-program by Fasta's generator: the ALU sequence
-- repeated for 2n characters, 3n drawn from the IUB table and 5n from the Homo sapiens
-- table (LCG IM 139968, IA 3877, IC 29573, seed 42); each sequence an array of ASCII codes.

local ALU = "GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGG"
  .. "GAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGA"
  .. "CCAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAAT"
  .. "ACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCA"
  .. "GCTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGG"
  .. "AGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCC"
  .. "AGCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA"

local function sequencesFor(n)
  local last = 42
  local function nextRandom()
    last = (last * 3877 + 29573) % 139968
    return 1.0 * last / 139968
  end
  local function repeatCodes(n)
    local out, k, size = {}, 1, #ALU
    for i = 1, n do
      out[i] = ALU:byte(k)
      k = k + 1
      if k > size then k = 1 end
    end
    return out
  end
  local function randomFrom(table, n)
    local size = #table
    local codes, cumulative, acc = {}, {}, 0.0
    for i = 1, size do
      codes[i] = table[i][1]
      acc = acc + table[i][2]
      cumulative[i] = acc
    end
    local out = {}
    for i = 1, n do
      local r = nextRandom()
      local k = 1
      while k < size and r >= cumulative[k] do k = k + 1 end
      out[i] = codes[k]
    end
    return out
  end
  local iubCodes = { 97, 99, 103, 116, 66, 68, 72, 75, 77, 78, 82, 83, 86, 87, 89 }
  local iub = {}
  for i = 1, 15 do iub[i] = { iubCodes[i], 0.02 } end
  iub[1][2], iub[2][2], iub[3][2], iub[4][2] = 0.27, 0.12, 0.12, 0.27
  local homoSapiens = {
    { 97, 0.3029549426680 }, { 99, 0.1979883004921 },
    { 103, 0.1975473066391 }, { 116, 0.3015094502008 },
  }
  local one = repeatCodes(2 * n)
  local two = randomFrom(iub, 3 * n)
  local three = randomFrom(homoSapiens, 5 * n)
  return { one, two, three }
end

return { sequencesFor = sequencesFor }
