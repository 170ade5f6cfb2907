-- SomBounce: twin of bench/SomBounce.som (balls bouncing in a box, in the style of
-- the are-we-fast-yet Lua sources: a Ball class with a bounce method, balls made
-- by calling a closure per element, numbers from the 16-bit LCG, seed 74755).
-- Size: 100 balls, 50 steps, 100 times. Verification: 100 * 1331 = 133100.

local Random = {}
Random.__index = Random

function Random.new() return setmetatable({ seed = 74755 }, Random) end

function Random:next()
  self.seed = ((self.seed * 1309) + 13849) & 65535
  return self.seed
end

local Ball = {}
Ball.__index = Ball

function Ball.new(random)
  return setmetatable({
    x = random:next() % 500,
    y = random:next() % 500,
    x_vel = (random:next() % 300) - 150,
    y_vel = (random:next() % 300) - 150,
  }, Ball)
end

function Ball:bounce()
  local x_limit, y_limit = 500, 500
  local bounced = false
  self.x = self.x + self.x_vel
  self.y = self.y + self.y_vel
  if self.x > x_limit then
    self.x = x_limit
    self.x_vel = 0 - math.abs(self.x_vel)
    bounced = true
  end
  if self.x < 0 then
    self.x = 0
    self.x_vel = math.abs(self.x_vel)
    bounced = true
  end
  if self.y > y_limit then
    self.y = y_limit
    self.y_vel = 0 - math.abs(self.y_vel)
    bounced = true
  end
  if self.y < 0 then
    self.y = 0
    self.y_vel = math.abs(self.y_vel)
    bounced = true
  end
  return bounced
end

local function new_with_all(n, fn)
  local t = {}
  for i = 1, n do t[i] = fn() end
  return t
end

return {
  name = "SomBounce",
  benchmark = function()
    local bounces = 0
    for _ = 1, 100 do
      local random = Random.new()
      local balls = new_with_all(100, function() return Ball.new(random) end)
      for _ = 1, 50 do
        for _, ball in ipairs(balls) do
          if ball:bounce() then bounces = bounces + 1 end
        end
      end
    end
    return bounces
  end,
  verify = function(result) return result == 133100 end,
}
