-- PiDigits: the Computer Language Benchmarks Game's pidigits (twin of
-- bench/PiDigits.som): the digits of pi from Gibbons' streaming spigot on
-- arbitrary-precision integers. The digits are hashed:
-- h = (h * 10 + digit) rem 1000000007.
-- Size: the first 1000 digits. Verification: hash 8847415.
--
-- Lua 5.4 has no big integers, so this file has a small one for exactly the
-- operations the spigot uses: big * small (small >= 0), big + big, big - big,
-- comparison, and big // big for a non-negative dividend, a positive divisor
-- and a quotient known to be small. An integer is an array of limbs in base
-- 2^24, least significant first, with no leading zero limbs (zero is the
-- empty array), and the field neg = true when it is negative (accum goes
-- negative now and then). Like SOM's Integers the values are immutable: every
-- operation answers a new array.

local BITS = 24
local BASE = 1 << BITS
local MASK = BASE - 1
local floor = math.floor

local function fromSmall(v)
  assert(v >= 0)
  local r = {}
  local n = 0
  while v > 0 do
    n = n + 1
    r[n] = v & MASK
    v = v >> BITS
  end
  return r
end

-- Magnitudes -----------------------------------------------------------

-- |a| + |b| into a new array.
local function uadd(a, b)
  local na, nb = #a, #b
  if na < nb then a, b, na, nb = b, a, nb, na end
  local r = {}
  local carry = 0
  for i = 1, nb do
    local t = a[i] + b[i] + carry
    r[i] = t & MASK
    carry = t >> BITS
  end
  for i = nb + 1, na do
    local t = a[i] + carry
    r[i] = t & MASK
    carry = t >> BITS
  end
  if carry > 0 then r[na + 1] = carry end
  return r
end

-- |a| - |b| into a new array, for |a| >= |b|.
local function usub(a, b)
  local na, nb = #a, #b
  local r = {}
  local borrow = 0
  for i = 1, nb do
    local t = a[i] - b[i] - borrow
    if t < 0 then
      r[i] = t + BASE
      borrow = 1
    else
      r[i] = t
      borrow = 0
    end
  end
  for i = nb + 1, na do
    local t = a[i] - borrow
    if t < 0 then
      r[i] = t + BASE
      borrow = 1
    else
      r[i] = t
      borrow = 0
    end
  end
  local n = na
  while n > 0 and r[n] == 0 do
    r[n] = nil
    n = n - 1
  end
  return r
end

-- Answer -1, 0 or 1 as |a| <, = or > |b|.
local function ucmp(a, b)
  local na, nb = #a, #b
  if na ~= nb then return na < nb and -1 or 1 end
  for i = na, 1, -1 do
    local x, y = a[i], b[i]
    if x ~= y then return x < y and -1 or 1 end
  end
  return 0
end

-- Signed integers --------------------------------------------------------

-- a * s for a small integer 0 <= s < 2^24.
local function mulSmall(a, s)
  local r = {}
  if s == 0 then return r end
  local n = #a
  local carry = 0
  for i = 1, n do
    local t = a[i] * s + carry
    r[i] = t & MASK
    carry = t >> BITS
  end
  while carry > 0 do
    n = n + 1
    r[n] = carry & MASK
    carry = carry >> BITS
  end
  if n > 0 then r.neg = a.neg end
  return r
end

-- a + b where b counts as negative when bneg is true.
local function addSigned(a, b, bneg)
  local aneg = a.neg
  local r
  if aneg == bneg then
    r = uadd(a, b)
    r.neg = aneg
    return r
  end
  local c = ucmp(a, b)
  if c == 0 then return {} end
  if c > 0 then
    r = usub(a, b)
    r.neg = aneg
  else
    r = usub(b, a)
    r.neg = bneg
  end
  return r
end

local function add(a, b) return addSigned(a, b, b.neg) end
local function sub(a, b) return addSigned(a, b, not b.neg or nil) end

-- Answer -1, 0 or 1 as a <, = or > b.
local function cmp(a, b)
  local aneg, bneg = a.neg, b.neg
  if aneg ~= bneg then return aneg and -1 or 1 end
  local c = ucmp(a, b)
  if aneg then return -c end
  return c
end

-- The value of the top three limbs of a (of length n) as a Double.
local FBASE = BASE + 0.0
local function top3(a, n)
  return ((a[n] or 0) * FBASE + (a[n - 1] or 0)) * FBASE + (a[n - 2] or 0)
end

-- a // b as a small integer, for a >= 0, b > 0 and a quotient below 2^24:
-- estimate it from the leading limbs, then correct the estimate exactly.
local function divSmall(a, b)
  assert(not a.neg and not b.neg and #b > 0, "divSmall: operands")
  if ucmp(a, b) < 0 then return 0 end
  local na, nb = #a, #b
  assert(na - nb <= 1, "divSmall: quotient too large")
  local estimate = top3(a, na) / top3(b, nb)
  if na > nb then estimate = estimate * FBASE end
  local q = floor(estimate)
  if q >= BASE then q = BASE - 1 end
  local p = mulSmall(b, q)
  while ucmp(p, a) > 0 do
    q = q - 1
    p = usub(p, b)
  end
  local r = usub(a, p)
  while ucmp(r, b) >= 0 do
    q = q + 1
    r = usub(r, b)
  end
  return q
end

local function digits(n)
  local numer, accum, denom = fromSmall(1), fromSmall(0), fromSmall(1)
  local k, i, hash = 0, 0, 0
  while i < n do
    k = k + 1
    local k2 = 2 * k + 1
    accum = mulSmall(add(accum, mulSmall(numer, 2)), k2)
    denom = mulSmall(denom, k2)
    numer = mulSmall(numer, k)
    if not (cmp(numer, accum) > 0) then
      local d = divSmall(add(mulSmall(numer, 3), accum), denom)
      if d == divSmall(add(mulSmall(numer, 4), accum), denom) then
        hash = (hash * 10 + d) % 1000000007
        i = i + 1
        accum = mulSmall(sub(accum, mulSmall(denom, d)), 10)
        numer = mulSmall(numer, 10)
      end
    end
  end
  return hash
end

return {
  name = "PiDigits",
  benchmark = function() return digits(1000) end,
  verify = function(result) return result == 8847415 end,
}
