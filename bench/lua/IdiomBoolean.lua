-- IdiomBoolean: Boolean operators on computed Booleans and identity tests
-- (twin of bench/IdiomBoolean.som). Size: 300000 rounds.
-- Verification: 37500 + 187500 + 150000 + 37500 + 150000 = 562500.

return {
  name = "IdiomBoolean",
  benchmark = function()
    local count = 0
    local o, p = {}, {}
    for i = 1, 300000 do
      local a = i > 150000
      local b = (i // 4) * 4 == i
      if a and b then count = count + 1 end
      if a or b then count = count + 1 end
      if (a and b) or (a == b) then count = count + 1 end
      if (a and b) or (o == p) then count = count + 1 end
      if (o == o) and (a == false) then count = count + 1 end
    end
    return count
  end,
  verify = function(result) return result == 562500 end,
}
