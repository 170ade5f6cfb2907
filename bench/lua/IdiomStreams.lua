-- IdiomStreams: building strings in a buffer table joined at the end, Lua's
-- idiom for a write stream (twin of bench/IdiomStreams.som).
-- Size: 400 strings of 100 numbers. Verification: 400 x 292 = 116800.

return {
  name = "IdiomStreams",
  benchmark = function()
    local total = 0
    for _ = 1, 400 do
      local buf, n = {}, 0
      for i = 1, 100 do
        n = n + 1; buf[n] = tostring(i)
        n = n + 1; buf[n] = ","
      end
      total = total + #table.concat(buf)
    end
    return total
  end,
  verify = function(result) return result == 116800 end,
}
