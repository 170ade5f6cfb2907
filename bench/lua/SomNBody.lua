-- SomNBody: twin of bench/SomNBody.som (the Benchmarks Game's n-body simulation in
-- the style of the are-we-fast-yet Lua sources: a Body class with fields read and
-- written directly, a system object advancing the bodies).
-- Size: five bodies, 20000 steps of 0.01.
-- Verification: energy -0.16908926275526803 (250000 steps: -0.1690859889909308).

local PI = 3.141592653589793
local SOLAR_MASS = 4 * PI * PI
local DAYS_PER_YEAR = 365.24

local Body = {}
Body.__index = Body

function Body.new(x, y, z, vx, vy, vz, mass)
  return setmetatable({
    x = x, y = y, z = z,
    vx = vx * DAYS_PER_YEAR, vy = vy * DAYS_PER_YEAR, vz = vz * DAYS_PER_YEAR,
    mass = mass * SOLAR_MASS,
  }, Body)
end

function Body:offset_momentum(px, py, pz)
  self.vx = 0.0 - (px / SOLAR_MASS)
  self.vy = 0.0 - (py / SOLAR_MASS)
  self.vz = 0.0 - (pz / SOLAR_MASS)
end

local function create_bodies()
  local bodies = {
    Body.new(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    Body.new(4.84143144246472090, -1.16032004402742839, -0.103622044471123109,
      0.00166007664274403694, 0.00769901118419740425, -0.0000690460016972063023,
      0.000954791938424326609),
    Body.new(8.34336671824457987, 4.12479856412430479, -0.403523417114321381,
      -0.00276742510726862411, 0.00499852801234917238, 0.0000230417297573763929,
      0.000285885980666130812),
    Body.new(12.8943695621391310, -15.1111514016986312, -0.223307578892655734,
      0.00296460137564761618, 0.00237847173959480950, -0.0000296589568540237556,
      0.0000436624404335156298),
    Body.new(15.3796971148509165, -25.9193146099879641, 0.179258772950371181,
      0.00268067772490389322, 0.00162824170038242295, -0.000095159225451971587,
      0.0000515138902046611451),
  }
  local px, py, pz = 0.0, 0.0, 0.0
  for _, b in ipairs(bodies) do
    px = px + b.vx * b.mass
    py = py + b.vy * b.mass
    pz = pz + b.vz * b.mass
  end
  bodies[1]:offset_momentum(px, py, pz)
  return bodies
end

local System = {}
System.__index = System

function System.new()
  return setmetatable({ bodies = create_bodies() }, System)
end

function System:advance(dt)
  local bodies = self.bodies
  local n = #bodies
  for i = 1, n do
    local i_body = bodies[i]
    for j = i + 1, n do
      local j_body = bodies[j]
      local dx = i_body.x - j_body.x
      local dy = i_body.y - j_body.y
      local dz = i_body.z - j_body.z
      local d_squared = dx * dx + dy * dy + dz * dz
      local distance = math.sqrt(d_squared)
      local mag = dt / (d_squared * distance)
      i_body.vx = i_body.vx - dx * j_body.mass * mag
      i_body.vy = i_body.vy - dy * j_body.mass * mag
      i_body.vz = i_body.vz - dz * j_body.mass * mag
      j_body.vx = j_body.vx + dx * i_body.mass * mag
      j_body.vy = j_body.vy + dy * i_body.mass * mag
      j_body.vz = j_body.vz + dz * i_body.mass * mag
    end
  end
  for _, body in ipairs(bodies) do
    body.x = body.x + dt * body.vx
    body.y = body.y + dt * body.vy
    body.z = body.z + dt * body.vz
  end
end

function System:energy()
  local e = 0.0
  local bodies = self.bodies
  local n = #bodies
  for i = 1, n do
    local i_body = bodies[i]
    e = e + 0.5 * i_body.mass
      * (i_body.vx * i_body.vx + i_body.vy * i_body.vy + i_body.vz * i_body.vz)
    for j = i + 1, n do
      local j_body = bodies[j]
      local dx = i_body.x - j_body.x
      local dy = i_body.y - j_body.y
      local dz = i_body.z - j_body.z
      local distance = math.sqrt(dx * dx + dy * dy + dz * dz)
      e = e - (i_body.mass * j_body.mass) / distance
    end
  end
  return e
end

return {
  name = "SomNBody",
  benchmark = function()
    local system = System.new()
    for _ = 1, 20000 do system:advance(0.01) end
    return system:energy()
  end,
  verify = function(result) return result == -0.16908926275526803 end,
}
