-- IdiomDoubles: float arithmetic with literal operands (twin of
-- bench/IdiomDoubles.som). Size: 300000 steps. Verification: 22500150000.0.

return {
  name = "IdiomDoubles",
  benchmark = function()
    local sum = 0.0
    for i = 1, 300000 do
      local x = i * 0.5
      sum = sum + (x * 1.5) - (x / 2.0) + 0.25
    end
    return sum
  end,
  verify = function(result) return result == 22500150000.0 end,
}
