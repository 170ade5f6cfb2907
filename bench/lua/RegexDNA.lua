-- RegexDNA: the benchmarks game's regex-dna (twin of bench/RegexDNA.som): in Fasta's
-- output for n = 2500 (its three sequences joined: 25000 characters, made in-program by
-- BenchFasta.lua, once), count the matches of the nine variants of agggtaaa|tttaccct,
-- then replace each IUB code in turn by its alternatives (B by (c|g|t), ...), and hash
-- the nine counts, the final length (33608) and every final character
-- (h = (h * 31 + x) rem 1000000007). Lua's string patterns have no alternation, so the
-- patterns are compiled and matched as RegexDNAPattern.som does: alternatives of
-- character sets, leftmost, first alternative first, matches not overlapping.
-- Verification: hash 579326480.

local dir = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local BenchFasta = dofile(dir .. "BenchFasta.lua")

local function newSet()
  local set = {}
  for i = 1, 128 do set[i] = false end
  return set
end

-- A pattern: an array of alternatives, each an array of sets indexed by code + 1.
local function compile(s)
  local alternatives, atoms, i = {}, {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c == "|" then
      alternatives[#alternatives + 1] = atoms
      atoms = {}
      i = i + 1
    elseif c == "[" then
      local set = newSet()
      i = i + 1
      while s:sub(i, i) ~= "]" do
        set[s:byte(i) + 1] = true
        i = i + 1
      end
      atoms[#atoms + 1] = set
      i = i + 1
    else
      local set = newSet()
      set[s:byte(i) + 1] = true
      atoms[#atoms + 1] = set
      i = i + 1
    end
  end
  alternatives[#alternatives + 1] = atoms
  return alternatives
end

local function matchLength(alternatives, codes, start)
  for a = 1, #alternatives do
    local atoms = alternatives[a]
    local n = #atoms
    if start + n - 1 <= #codes then
      local j = 1
      while j <= n and atoms[j][codes[start + j - 1] + 1] do j = j + 1 end
      if j > n then return n end
    end
  end
  return 0
end

local function countIn(pattern, codes)
  local i, count = 1, 0
  while i <= #codes do
    local m = matchLength(pattern, codes, i)
    if m > 0 then
      count = count + 1
      i = i + m
    else
      i = i + 1
    end
  end
  return count
end

local function replaceIn(pattern, codes, replacement)
  local matches, count, covered, i = {}, 0, 0, 1
  while i <= #codes do
    local m = matchLength(pattern, codes, i)
    matches[i] = m
    if m > 0 then
      count, covered, i = count + 1, covered + m, i + m
    else
      i = i + 1
    end
  end
  local out, o = {}, 0
  i = 1
  while i <= #codes do
    local m = matches[i]
    if m > 0 then
      for k = 1, #replacement do out[o + k] = replacement[k] end
      o = o + #replacement
      i = i + m
    else
      o = o + 1
      out[o] = codes[i]
      i = i + 1
    end
  end
  return out
end

local function codesOf(s)
  local codes = {}
  for i = 1, #s do codes[i] = s:byte(i) end
  return codes
end

local variants = {
  "agggtaaa|tttaccct", "[cgt]gggtaaa|tttaccc[acg]", "a[act]ggtaaa|tttacc[agt]t",
  "ag[act]gtaaa|tttac[agt]ct", "agg[act]taaa|ttta[agt]cct", "aggg[acg]aaa|ttt[cgt]ccct",
  "agggt[cgt]aa|tt[acg]accct", "agggta[cgt]a|t[acg]taccct", "agggtaa[cgt]|[acg]ttaccct",
}
local substitutions = {
  { "B", "(c|g|t)" }, { "D", "(a|g|t)" }, { "H", "(a|c|t)" }, { "K", "(g|t)" },
  { "M", "(a|c)" }, { "N", "(a|c|g|t)" }, { "R", "(a|g)" }, { "S", "(c|g)" },
  { "V", "(a|c|g)" }, { "W", "(a|t)" }, { "Y", "(c|t)" },
}

local input

return {
  name = "RegexDNA",
  benchmark = function()
    if not input then
      input = {}
      for _, s in ipairs(BenchFasta.sequencesFor(2500)) do
        for i = 1, #s do input[#input + 1] = s[i] end
      end
    end
    local h = 0
    for _, v in ipairs(variants) do
      h = (h * 31 + countIn(compile(v), input)) % 1000000007
    end
    local sequence = input
    for _, s in ipairs(substitutions) do
      sequence = replaceIn(compile(s[1]), sequence, codesOf(s[2]))
    end
    h = (h * 31 + #sequence) % 1000000007
    for i = 1, #sequence do h = (h * 31 + sequence[i]) % 1000000007 end
    return h
  end,
  verify = function(result) return result == 579326480 end,
}
