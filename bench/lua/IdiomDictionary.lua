-- IdiomDictionary: table stores and loads under interned-name keys and under
-- string keys built separately (twin of bench/IdiomDictionary.som; Lua interns
-- both kinds). Size: 500 rounds of 50 + 50 keys. Verification: 1912500.

return {
  name = "IdiomDictionary",
  benchmark = function()
    local syms, strs, probes = {}, {}, {}
    for i = 1, 50 do
      syms[i] = "sym" .. tostring(i)
      strs[i] = "str" .. tostring(i)
      probes[i] = "str" .. tostring(i)
    end
    local sum = 0
    for _ = 1, 500 do
      local d = {}
      for i = 1, 50 do
        d[syms[i]] = i
        d[strs[i]] = i * 2
      end
      for i = 1, 50 do sum = sum + d[syms[i]] + d[probes[i]] end
    end
    return sum
  end,
  verify = function(result) return result == 1912500 end,
}
