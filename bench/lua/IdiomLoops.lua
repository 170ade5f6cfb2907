-- IdiomLoops: counted loops, conditional loops and an early return from inside
-- a loop over an array (twin of bench/IdiomLoops.som). Size: 10000 rounds.
-- Verification: 71803250.

local squares

local function firstSquareAbove(n)
  for _, s in ipairs(squares) do
    if s > n then return s end
  end
  return 0
end

return {
  name = "IdiomLoops",
  benchmark = function()
    squares = {}
    for i = 1, 20 do squares[i] = i * i end
    local sum = 0
    for k = 1, 10000 do
      for _ = 1, 100 do sum = sum + 1 end
      for j = 1, 100, 3 do sum = sum + j end
      for j = 100, 1, -1 do sum = sum + j end
      local i = 0
      repeat i = i + 1 until not (i < 50)
      sum = sum + i
      repeat i = i - 1 until i == 0
      sum = sum + 50
      sum = sum + firstSquareAbove(k % 400)
    end
    return sum
  end,
  verify = function(result) return result == 71803250 end,
}
