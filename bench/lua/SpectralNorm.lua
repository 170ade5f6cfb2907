-- SpectralNorm: the Computer Language Benchmarks Game's spectral-norm (twin of
-- bench/SpectralNorm.som): 10 steps of the power method on A^T A truncated to
-- n x n, A(i,j) = 1 / ((i+j)(i+j+1)/2 + i + 1).
-- Size: n = 100. Verification: 1.2742199912349306 (within 1e-12).

-- A(i, j) with 0-based i and j.
local function a(i, j)
  return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
end

local function multiplyAv(v, n)
  local result = {}
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do
      sum = sum + (a(i, j) * v[j + 1])
    end
    result[i + 1] = sum
  end
  return result
end

local function multiplyAtv(v, n)
  local result = {}
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do
      sum = sum + (a(j, i) * v[j + 1])
    end
    result[i + 1] = sum
  end
  return result
end

local function multiplyAtAv(v, n)
  return multiplyAtv(multiplyAv(v, n), n)
end

local function spectralNorm(n)
  local u, v = {}, nil
  for i = 1, n do u[i] = 1.0 end
  for _ = 1, 10 do
    v = multiplyAtAv(u, n)
    u = multiplyAtAv(v, n)
  end
  local vBv, vv = 0.0, 0.0
  for i = 1, n do
    vBv = vBv + (u[i] * v[i])
    vv = vv + (v[i] * v[i])
  end
  return math.sqrt(vBv / vv)
end

return {
  name = "SpectralNorm",
  benchmark = function() return spectralNorm(100) end,
  verify = function(result)
    return math.abs(result - 1.2742199912349306) < 0.000000000001
  end,
}
