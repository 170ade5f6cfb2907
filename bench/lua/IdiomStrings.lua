-- IdiomStrings: building strings by concatenation of numbers and commas
-- (twin of bench/IdiomStrings.som). Size: 400 strings of 100 numbers.
-- Verification: 400 x 292 = 116800.

return {
  name = "IdiomStrings",
  benchmark = function()
    local total = 0
    for _ = 1, 400 do
      local s = ""
      for i = 1, 100 do s = s .. tostring(i) .. "," end
      total = total + #s
    end
    return total
  end,
  verify = function(result) return result == 116800 end,
}
