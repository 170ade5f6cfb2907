-- Chameleons: the benchmarks game's first chameneos program (twin of
-- bench/Chameleons.som): four creatures, blue, red, yellow and blue, meet in pairs
-- until 100000 meetings have happened; answers the meetings they counted.
-- Verification: 2 x 100000 = 200000.

local dir = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local Chameneos = dofile(dir .. "Chameneos.lua")

return {
  name = "Chameleons",
  benchmark = function()
    local total = Chameneos.run({ 1, 2, 3, 1 }, 100000)
    return total
  end,
  verify = function(result) return result == 200000 end,
}
