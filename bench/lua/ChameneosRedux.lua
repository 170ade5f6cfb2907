-- ChameneosRedux: the benchmarks game's chameneos-redux (twin of
-- bench/ChameneosRedux.som): creatures meet in pairs until 100000 meetings have
-- happened, each taking the complement of the two colours after a meeting; run with 3
-- creatures (blue red yellow) and with 10 (blue red yellow red yellow blue red yellow
-- red blue). Answers the meetings counted over both runs, -1 when a creature met itself.
-- Verification: 2 x 2 x 100000 = 400000.

local dir = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local Chameneos = dofile(dir .. "Chameneos.lua")

return {
  name = "ChameneosRedux",
  benchmark = function()
    local a, selfA = Chameneos.run({ 1, 2, 3 }, 100000)
    local b, selfB = Chameneos.run({ 1, 2, 3, 2, 3, 1, 2, 3, 2, 1 }, 100000)
    if selfA > 0 or selfB > 0 then return -1 end
    return a + b
  end,
  verify = function(result) return result == 400000 end,
}
