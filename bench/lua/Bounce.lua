-- Bounce: balls with integer positions and velocities bounce inside a
-- 500 x 500 box (twin of bench/Bounce.som and BounceBall.som). Starting states
-- come from BenchRandom (Park-Miller, seed 74755).
-- Size: 200 balls, 2000 steps. Verification: 102998 bouncing steps.

-- BenchRandom: seed = seed * 16807 rem (2^31 - 1); products stay below 2^46.
local Random = {}
Random.__index = Random
function Random.new() return setmetatable({ seed = 74755 }, Random) end
function Random:next()
  local seed = (self.seed * 16807) % 2147483647
  self.seed = seed
  return seed
end
function Random:nextBelow(n) return self:next() % n end

local abs = math.abs

local Ball = {}
Ball.__index = Ball

function Ball.new(random)
  local x = random:nextBelow(500)
  local y = random:nextBelow(500)
  local xVel = random:nextBelow(300) - 150
  local yVel = random:nextBelow(300) - 150
  return setmetatable({ x = x, y = y, xVel = xVel, yVel = yVel }, Ball)
end

-- Move one step; answer whether I hit a wall.
function Ball:bounce()
  local limit = 500
  local bounced = false
  local xVel, yVel = self.xVel, self.yVel
  local x = self.x + xVel
  local y = self.y + yVel
  if x > limit then x = limit; xVel = 0 - abs(xVel); bounced = true end
  if x < 0 then x = 0; xVel = abs(xVel); bounced = true end
  if y > limit then y = limit; yVel = 0 - abs(yVel); bounced = true end
  if y < 0 then y = 0; yVel = abs(yVel); bounced = true end
  self.x, self.y, self.xVel, self.yVel = x, y, xVel, yVel
  return bounced
end

return {
  name = "Bounce",
  benchmark = function()
    local random = Random.new()
    local balls = {}
    for i = 1, 200 do balls[i] = Ball.new(random) end
    local bounces = 0
    for _ = 1, 2000 do
      for i = 1, #balls do
        if balls[i]:bounce() then bounces = bounces + 1 end
      end
    end
    return bounces
  end,
  verify = function(result) return result == 102998 end,
}
