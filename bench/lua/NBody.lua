-- NBody: the Computer Language Benchmarks Game's n-body problem (twin of
-- bench/NBody.som and NBodyBody.som): the Sun and the four giant planets,
-- advanced with a symplectic integrator in steps of 0.01.
-- Size: 15000 steps. Verification: energy -0.169057006678299 (within 1e-12).
-- The floating-point operations are done in the same order as in the SOM
-- version, so the result is bit-identical.

local sqrt = math.sqrt

local Body = {}
Body.__index = Body

function Body.new(x, y, z, vx, vy, vz, mass, daysPerYear, solarMass)
  return setmetatable({ x = x, y = y, z = z,
    vx = vx * daysPerYear, vy = vy * daysPerYear, vz = vz * daysPerYear,
    mass = mass * solarMass }, Body)
end

local function createBodies()
  local pi = 3.141592653589793
  local solarMass = 4.0 * pi * pi
  local daysPerYear = 365.24
  local sun = Body.new(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, daysPerYear, solarMass)
  local bodies = {
    sun,
    -- Jupiter
    Body.new(4.84143144246472090, -1.16032004402742839, -0.103622044471123109,
      0.00166007664274403694, 0.00769901118419740425, -0.0000690460016972063023,
      0.000954791938424326609, daysPerYear, solarMass),
    -- Saturn
    Body.new(8.34336671824457987, 4.12479856412430479, -0.403523417114321381,
      -0.00276742510726862411, 0.00499852801234917238, 0.0000230417297573763929,
      0.000285885980666130812, daysPerYear, solarMass),
    -- Uranus
    Body.new(12.8943695621391310, -15.1111514016986312, -0.223307578892655734,
      0.00296460137564761618, 0.00237847173959480950, -0.0000296589568540237556,
      0.0000436624404335156298, daysPerYear, solarMass),
    -- Neptune
    Body.new(15.3796971148509165, -25.9193146099879641, 0.179258772950371181,
      0.00268067772490389322, 0.00162824170038242295, -0.0000951592254519715870,
      0.0000515138902046611451, daysPerYear, solarMass),
  }
  -- Offset the momentum so that the centre of mass stays put.
  local px, py, pz = 0.0, 0.0, 0.0
  for i = 1, #bodies do
    local b = bodies[i]
    px = px + (b.vx * b.mass)
    py = py + (b.vy * b.mass)
    pz = pz + (b.vz * b.mass)
  end
  sun.vx = (px / solarMass) * -1.0
  sun.vy = (py / solarMass) * -1.0
  sun.vz = (pz / solarMass) * -1.0
  return bodies
end

local function advance(bodies, dt)
  for i = 1, 5 do
    local bi = bodies[i]
    for j = i + 1, 5 do
      local bj = bodies[j]
      local dx = bi.x - bj.x
      local dy = bi.y - bj.y
      local dz = bi.z - bj.z
      local dSquared = (dx * dx) + (dy * dy) + (dz * dz)
      local distance = sqrt(dSquared)
      local mag = dt / (dSquared * distance)
      bi.vx = bi.vx - (dx * bj.mass * mag)
      bi.vy = bi.vy - (dy * bj.mass * mag)
      bi.vz = bi.vz - (dz * bj.mass * mag)
      bj.vx = bj.vx + (dx * bi.mass * mag)
      bj.vy = bj.vy + (dy * bi.mass * mag)
      bj.vz = bj.vz + (dz * bi.mass * mag)
    end
  end
  for i = 1, 5 do
    local b = bodies[i]
    b.x = b.x + (dt * b.vx)
    b.y = b.y + (dt * b.vy)
    b.z = b.z + (dt * b.vz)
  end
end

local function energy(bodies)
  local e = 0.0
  for i = 1, 5 do
    local bi = bodies[i]
    e = e + (0.5 * bi.mass * ((bi.vx * bi.vx) + (bi.vy * bi.vy) + (bi.vz * bi.vz)))
    for j = i + 1, 5 do
      local bj = bodies[j]
      local dx = bi.x - bj.x
      local dy = bi.y - bj.y
      local dz = bi.z - bj.z
      local distance = sqrt((dx * dx) + (dy * dy) + (dz * dz))
      e = e - ((bi.mass * bj.mass) / distance)
    end
  end
  return e
end

return {
  name = "NBody",
  benchmark = function()
    local bodies = createBodies()
    for _ = 1, 15000 do advance(bodies, 0.01) end
    return energy(bodies)
  end,
  verify = function(result)
    return math.abs(result - -0.169057006678299) < 0.000000000001
  end,
}
