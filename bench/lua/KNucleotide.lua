-- KNucleotide: the benchmarks game's k-nucleotide (twin of bench/KNucleotide.som): in the
-- third sequence of Fasta's output for n = 10000 (50000 characters, made in-program by
-- BenchFasta.lua, once), count every k-mer for k = 1, 2, 3, 4, 6, 12, 18 in a hash table
-- (open addressing in two arrays, as KNucleotideTable.som), then hash the report
-- (h = (h * 31 + x) rem 1000000007): each table's size, key and count of each 1- and
-- 2-mer by count descending (keys in base 4, A=0 C=1 G=2 T=3), then the counts of GGT,
-- GGTA, GGTATT, GGTATTTTAATT, GGTATTTTAATTTATAGT. Verification: hash 969138713.

local dir = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local BenchFasta = dofile(dir .. "BenchFasta.lua")

local Table = {}
Table.__index = Table

function Table.new()
  return setmetatable({ keys = {}, counts = {}, size = 0, mask = 63 }, Table)
end

function Table:slotOf(key)
  local keys, mask = self.keys, self.mask
  local i = ((key + (key >> 13)) & mask) + 1
  while true do
    local k = keys[i]
    if k == nil or k == key then return i end
    i = (i & mask) + 1
  end
end

function Table:increment(key)
  local i = self:slotOf(key)
  if self.keys[i] == nil then
    self.keys[i] = key
    self.counts[i] = 1
    self.size = self.size + 1
    if self.size * 2 > self.mask then self:grow() end
  else
    self.counts[i] = self.counts[i] + 1
  end
end

function Table:countOf(key)
  local i = self:slotOf(key)
  if self.keys[i] == nil then return 0 end
  return self.counts[i]
end

function Table:grow()
  local oldKeys, oldCounts, capacity = self.keys, self.counts, self.mask + 1
  self.keys, self.counts = {}, {}
  self.mask = capacity * 2 - 1
  for j = 1, capacity do
    local k = oldKeys[j]
    if k ~= nil then
      local i = self:slotOf(k)
      self.keys[i] = k
      self.counts[i] = oldCounts[j]
    end
  end
end

function Table:sortedEntries()
  local entries = {}
  for j = 1, self.mask + 1 do
    local k = self.keys[j]
    if k ~= nil then entries[#entries + 1] = { k, self.counts[j] } end
  end
  table.sort(entries, function(a, b)
    if a[2] == b[2] then return a[1] < b[1] end
    return a[2] > b[2]
  end)
  return entries
end

local input

local function count(k)
  local t = Table.new()
  local modulus = 1
  for _ = 1, k do modulus = modulus * 4 end
  local key = 0
  for i = 1, #input do
    key = (key * 4 + input[i]) % modulus
    if i >= k then t:increment(key) end
  end
  return t
end

local function keyOf(s)
  local key = 0
  for i = 1, #s do key = key * 4 + ("ACGT"):find(s:sub(i, i), 1, true) - 1 end
  return key
end

local codeOf = { [97] = 0, [99] = 1, [103] = 2, [116] = 3 }

return {
  name = "KNucleotide",
  benchmark = function()
    if not input then
      local three = BenchFasta.sequencesFor(10000)[3]
      input = {}
      for i = 1, #three do
        local c = three[i]
        if c < 97 then c = c + 32 end
        input[i] = codeOf[c]
      end
    end
    local tables, h = {}, 0
    for _, k in ipairs({ 1, 2, 3, 4, 6, 12, 18 }) do
      tables[k] = count(k)
      h = (h * 31 + tables[k].size) % 1000000007
    end
    for k = 1, 2 do
      for _, e in ipairs(tables[k]:sortedEntries()) do
        h = (h * 31 + e[1]) % 1000000007
        h = (h * 31 + e[2]) % 1000000007
      end
    end
    for _, p in ipairs({ "GGT", "GGTA", "GGTATT", "GGTATTTTAATT", "GGTATTTTAATTTATAGT" }) do
      h = (h * 31 + tables[#p]:countOf(keyOf(p))) % 1000000007
    end
    return h
  end,
  verify = function(result) return result == 969138713 end,
}
