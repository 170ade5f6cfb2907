-- Mandelbrot: the Computer Language Benchmarks Game's mandelbrot (twin of
-- bench/Mandelbrot.som): a size x size bitmap over [-1.5, 0.5] x [-1, 1], at
-- most 50 iterations per point. The PBM bytes (8 points a byte, rows padded
-- with zero bits) are hashed: h = (h * 31 + byte) rem 16777213.
-- Size: 200 x 200. Verification: hash 4547759.

local function mandelbrot(size)
  local hash, byte, bits = 0, 0, 0
  for y = 0, size - 1 do
    local ci = (2.0 * y / size) - 1.0
    for x = 0, size - 1 do
      local cr = (2.0 * x / size) - 1.5
      local zr, zi = 0.0, 0.0
      local i = 0
      local escaped = false
      while not escaped and i < 50 do
        local tr = (zr * zr) - (zi * zi) + cr
        local ti = (2.0 * zr * zi) + ci
        zr = tr
        zi = ti
        if (zr * zr) + (zi * zi) > 4.0 then
          escaped = true
        else
          i = i + 1
        end
      end
      if escaped then
        byte = byte * 2
      else
        byte = byte * 2 + 1
      end
      bits = bits + 1
      if bits == 8 then
        hash = (hash * 31 + byte) % 16777213
        byte = 0
        bits = 0
      end
    end
    if bits ~= 0 then
      byte = byte << (8 - bits)
      hash = (hash * 31 + byte) % 16777213
      byte = 0
      bits = 0
    end
  end
  return hash
end

return {
  name = "Mandelbrot",
  benchmark = function() return mandelbrot(200) end,
  verify = function(result) return result == 4547759 end,
}
