-- ThreadRing: 503 coroutines in a ring pass a token that counts down from 50000
-- (twin of bench/ThreadRing.som; Lua's threads are coroutines, so a hop is a
-- resume of the next one, as in the benchmarks game's Lua program).
-- Size: 503 threads, 50000 hops. Verification: (50000 % 503) + 1 = 204.

local function ring(n, hops)
  local threads = {}
  for id = 1, n do
    threads[id] = coroutine.create(function(token)
      while token ~= 0 do
        token = coroutine.yield(token - 1)
      end
      return id
    end)
  end
  local token, id = hops, 1
  while true do
    local thread = threads[id]
    local _, value = coroutine.resume(thread, token)
    if coroutine.status(thread) == "dead" then return value end
    token = value
    id = id % n + 1
  end
end

return {
  name = "ThreadRing",
  benchmark = function() return ring(503, 50000) end,
  verify = function(result) return result == 204 end,
}
