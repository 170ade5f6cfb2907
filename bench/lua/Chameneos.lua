-- The creatures and meeting place of ChameneosRedux.lua and Chameleons.lua (twins of
-- bench/ChameneosCreature.som and bench/ChameneosMeetingPlace.som; a helper, not a
-- benchmark). Lua's threads are coroutines: a creature that waits at the meeting place
-- yields until a second one pairs with it; a small round-robin scheduler resumes the
-- creatures that can run. Colours: 1 blue, 2 red, 3 yellow.

local function complementOf(a, b)
  if a == b then return a end
  return 6 - a - b
end

-- Runs creatures of the given colours until n meetings have happened; answers the
-- meetings they counted and their meetings with themselves.
local function run(colors, n)
  local remaining, waiting = n, nil

  -- true after a meeting (partner set in me), false when the meetings are over
  local function meet(me)
    if remaining == 0 then return false end
    if waiting == nil then
      waiting = me
      me.blocked = true
      coroutine.yield()
      return true
    end
    local first = waiting
    waiting = nil
    remaining = remaining - 1
    first.partner, first.partnerColor = me, me.color
    me.partner, me.partnerColor = first, first.color
    first.blocked = false
    return true
  end

  local creatures = {}
  for i, c in ipairs(colors) do
    local me = { color = c, meetings = 0, selfMeetings = 0, blocked = false }
    me.thread = coroutine.create(function()
      while meet(me) do
        me.meetings = me.meetings + 1
        if me.partner == me then me.selfMeetings = me.selfMeetings + 1 end
        me.color = complementOf(me.color, me.partnerColor)
      end
    end)
    creatures[i] = me
  end

  local live = #creatures
  while live > 0 do
    live = 0
    for _, c in ipairs(creatures) do
      if coroutine.status(c.thread) ~= "dead" then
        if not c.blocked then assert(coroutine.resume(c.thread)) end
        if coroutine.status(c.thread) ~= "dead" then live = live + 1 end
      end
    end
  end

  local total, selfTotal = 0, 0
  for _, c in ipairs(creatures) do
    total = total + c.meetings
    selfTotal = selfTotal + c.selfMeetings
  end
  return total, selfTotal
end

return { run = run }
