-- SomMandelbrot: twin of bench/SomMandelbrot.som (the Mandelbrot set in the style
-- of the are-we-fast-yet Lua sources: while loops, a not_done flag, bits packed
-- with shifts and folded with xor).
-- Size: 250 x 250, 50 iterations per point. Verification: xor of the bytes = 15 (500 x 500 gives 191, as in are-we-fast-yet).

local function mandelbrot(size)
  local sum, byte_acc, bit_num = 0, 0, 0
  local y = 0
  while y < size do
    local ci = (2.0 * y / size) - 1.0
    local x = 0
    while x < size do
      local zrzr, zi, zizi = 0.0, 0.0, 0.0
      local cr = (2.0 * x / size) - 1.5
      local z = 0
      local not_done = true
      local escape = 0
      while not_done and z < 50 do
        local zr = zrzr - zizi + cr
        zi = 2.0 * zr * zi + ci
        zrzr = zr * zr
        zizi = zi * zi
        if zrzr + zizi > 4.0 then
          not_done = false
          escape = 1
        end
        z = z + 1
      end
      byte_acc = (byte_acc << 1) + escape
      bit_num = bit_num + 1
      if bit_num == 8 then
        sum = sum ~ byte_acc
        byte_acc = 0
        bit_num = 0
      elseif x == size - 1 then
        byte_acc = byte_acc << (8 - bit_num)
        sum = sum ~ byte_acc
        byte_acc = 0
        bit_num = 0
      end
      x = x + 1
    end
    y = y + 1
  end
  return sum
end

return {
  name = "SomMandelbrot",
  benchmark = function() return mandelbrot(250) end,
  verify = function(result) return result == 15 end,
}
