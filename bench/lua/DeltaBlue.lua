-- DeltaBlue: the incremental constraint solver of Freeman-Benson, Maloney and
-- Borning (twin of bench/DeltaBlue.som, DBPlanner, DBVariable, DB*Constraint
-- and BenchVector). Strengths are integers, smaller = stronger: 0 required,
-- 1 strong preferred, 2 preferred, 3 strong default, 4 normal, 5 weak default,
-- 6 weakest.
-- Size: a chain of 2000 equality constraints and a projection of 2000 scale
-- constraints. Verification: chain 4950, projection sum 13985030.

-- A tiny class helper: a subclass starts with a copy of its superclass's
-- methods, so a method is always found with one table look-up.
local function class(super)
  local c = {}
  if super then for k, v in pairs(super) do c[k] = v end end
  c.__index = c
  return c
end

---------------------------------------------------------------------------
-- BenchVector: growable 1-based array with O(1) removeFirst (bench/BenchVector.som)
local Vector = class()

function Vector.new(capacity)
  return setmetatable({ storage = {}, capacity = capacity or 8, firstIdx = 1, lastIdx = 1 }, Vector)
end

function Vector.with(element)
  local v = Vector.new(8)
  v:append(element)
  return v
end

function Vector:size() return self.lastIdx - self.firstIdx end
function Vector:isEmpty() return self.lastIdx == self.firstIdx end
function Vector:at(index) return self.storage[self.firstIdx + index - 1] end

function Vector:append(element)
  if self.lastIdx > self.capacity then self:grow() end
  local last = self.lastIdx
  self.storage[last] = element
  self.lastIdx = last + 1
  return element
end

function Vector:removeFirst()
  local storage, first = self.storage, self.firstIdx
  local element = storage[first]
  storage[first] = nil
  first = first + 1
  if first == self.lastIdx then
    self.firstIdx = 1
    self.lastIdx = 1
  else
    self.firstIdx = first
  end
  return element
end

-- Remove every element identical to obj; answer whether one was found.
function Vector:remove(obj)
  local storage = self.storage
  local found = false
  local to = self.firstIdx
  for from = self.firstIdx, self.lastIdx - 1 do
    local e = storage[from]
    if e == obj then
      found = true
    else
      storage[to] = e
      to = to + 1
    end
  end
  for i = to, self.lastIdx - 1 do storage[i] = nil end
  self.lastIdx = to
  return found
end

function Vector:each(f)
  local storage = self.storage
  for i = self.firstIdx, self.lastIdx - 1 do f(storage[i]) end
end

-- Grow the storage, moving the live elements to its start.
function Vector:grow()
  local n = self.lastIdx - self.firstIdx
  local old, first = self.storage, self.firstIdx
  local newCapacity = self.capacity * 2 + 4
  local new = table.move(old, first, first + n - 1, 1, {})
  self.storage = new
  self.capacity = newCapacity
  self.firstIdx = 1
  self.lastIdx = n + 1
end

---------------------------------------------------------------------------
-- Variable
local Variable = class()

function Variable.new(value)
  return setmetatable({ value = value, constraints = Vector.new(4), determinedBy = nil,
    mark = 0, walkStrength = 6, stay = true }, Variable)
end

function Variable:addConstraint(c) self.constraints:append(c) end

function Variable:removeConstraint(c)
  self.constraints:remove(c)
  if self.determinedBy == c then self.determinedBy = nil end
end

---------------------------------------------------------------------------
-- Planner
local Planner = class()

function Planner.new() return setmetatable({ currentMark = 0 }, Planner) end

function Planner:newMark()
  local m = self.currentMark + 1
  self.currentMark = m
  return m
end

function Planner:incrementalAdd(c)
  local mark = self:newMark()
  local overridden = c:satisfy(mark)
  while overridden ~= nil do overridden = overridden:satisfy(mark) end
end

-- Remove c; then try to satisfy what it left unsatisfied, strongest first.
function Planner:incrementalRemove(c)
  local out = c:output()
  c:markUnsatisfied()
  c:removeFromGraph()
  local unsatisfied = self:removePropagateFrom(out)
  for s = 0, 5 do
    unsatisfied:each(function(u)
      if u.strength == s then self:incrementalAdd(u) end
    end)
  end
end

function Planner:makePlan(sources)
  local mark = self:newMark()
  local plan = Vector.new(8)
  local todo = sources
  while not todo:isEmpty() do
    local c = todo:removeFirst()
    if c:output().mark ~= mark and c:inputsKnown(mark) then
      plan:append(c)
      c:output().mark = mark
      self:addConstraintsConsumingTo(c:output(), todo)
    end
  end
  return plan
end

function Planner:extractPlanFromConstraints(constraints)
  local sources = Vector.new(8)
  constraints:each(function(c)
    if c:isInput() and c:isSatisfied() then sources:append(c) end
  end)
  return self:makePlan(sources)
end

-- Recompute the walkabout strengths downstream of c; answer false on a cycle.
function Planner:addPropagate(c, mark)
  local todo = Vector.with(c)
  while not todo:isEmpty() do
    local d = todo:removeFirst()
    if d:output().mark == mark then
      self:incrementalRemove(c)
      return false
    end
    d:recalculate()
    self:addConstraintsConsumingTo(d:output(), todo)
  end
  return true
end

-- out lost its determining constraint: reset what depended on it and answer
-- the constraints that are now unsatisfied.
function Planner:removePropagateFrom(out)
  out.determinedBy = nil
  out.walkStrength = 6
  out.stay = true
  local unsatisfied = Vector.new(8)
  local todo = Vector.with(out)
  while not todo:isEmpty() do
    local v = todo:removeFirst()
    v.constraints:each(function(c)
      if not c:isSatisfied() then unsatisfied:append(c) end
    end)
    local determining = v.determinedBy
    v.constraints:each(function(nxt)
      if nxt ~= determining and nxt:isSatisfied() then
        nxt:recalculate()
        todo:append(nxt:output())
      end
    end)
  end
  return unsatisfied
end

function Planner:addConstraintsConsumingTo(v, coll)
  local determining = v.determinedBy
  v.constraints:each(function(c)
    if c ~= determining and c:isSatisfied() then coll:append(c) end
  end)
end

---------------------------------------------------------------------------
-- Constraint (abstract)
local Constraint = class()

function Constraint:addConstraint()
  self:addToGraph()
  self.planner:incrementalAdd(self)
end

function Constraint:destroyConstraint()
  if self:isSatisfied() then
    self.planner:incrementalRemove(self)
  else
    self:removeFromGraph()
  end
end

function Constraint:isInput() return false end

-- Try to satisfy myself with the given mark; answer the constraint I
-- override, or nil.
function Constraint:satisfy(mark)
  self:chooseMethod(mark)
  if not self:isSatisfied() then
    if self.strength == 0 then error("Could not satisfy a required constraint") end
    return nil
  end
  self:markInputs(mark)
  local out = self:output()
  local overridden = out.determinedBy
  if overridden ~= nil then overridden:markUnsatisfied() end
  out.determinedBy = self
  if not self.planner:addPropagate(self, mark) then error("Cycle encountered") end
  out.mark = mark
  return overridden
end

---------------------------------------------------------------------------
-- UnaryConstraint: a constraint on one variable (its output)
local UnaryConstraint = class(Constraint)

function UnaryConstraint:init(v, strength, planner)
  self.myOutput = v
  self.strength = strength
  self.planner = planner
  self.satisfied = false
  self:addConstraint()
  return self
end

function UnaryConstraint:addToGraph()
  self.myOutput:addConstraint(self)
  self.satisfied = false
end

function UnaryConstraint:removeFromGraph()
  if self.myOutput ~= nil then self.myOutput:removeConstraint(self) end
  self.satisfied = false
end

function UnaryConstraint:chooseMethod(mark)
  local out = self.myOutput
  self.satisfied = out.mark ~= mark and self.strength < out.walkStrength
end

function UnaryConstraint:isSatisfied() return self.satisfied end
function UnaryConstraint:markInputs(mark) return self end
function UnaryConstraint:markUnsatisfied() self.satisfied = false end
function UnaryConstraint:output() return self.myOutput end
function UnaryConstraint:inputsKnown(mark) return true end

function UnaryConstraint:recalculate()
  local out = self.myOutput
  out.walkStrength = self.strength
  out.stay = not self:isInput()
  if out.stay then self:execute() end
end

local StayConstraint = class(UnaryConstraint)
function StayConstraint:execute() return self end
function StayConstraint.new(v, strength, planner)
  return setmetatable({}, StayConstraint):init(v, strength, planner)
end

local EditConstraint = class(UnaryConstraint)
function EditConstraint:isInput() return true end
function EditConstraint:execute() return self end
function EditConstraint.new(v, strength, planner)
  return setmetatable({}, EditConstraint):init(v, strength, planner)
end

---------------------------------------------------------------------------
-- BinaryConstraint: between v1 and v2, flowing either way. direction:
-- 1 forward (v1 -> v2), -1 backward (v2 -> v1), 0 not satisfied.
local BinaryConstraint = class(Constraint)

function BinaryConstraint:init(a, b, strength, planner)
  self.v1 = a
  self.v2 = b
  self.strength = strength
  self.planner = planner
  self.direction = 0
  return self
end

function BinaryConstraint:addToGraph()
  self.v1:addConstraint(self)
  self.v2:addConstraint(self)
  self.direction = 0
end

function BinaryConstraint:removeFromGraph()
  if self.v1 ~= nil then self.v1:removeConstraint(self) end
  if self.v2 ~= nil then self.v2:removeConstraint(self) end
  self.direction = 0
end

function BinaryConstraint:chooseMethod(mark)
  local v1, v2, strength = self.v1, self.v2, self.strength
  if v1.mark == mark then
    if v2.mark ~= mark and strength < v2.walkStrength then
      self.direction = 1
    else
      self.direction = 0
    end
    return
  end
  if v2.mark == mark then
    if v1.mark ~= mark and strength < v1.walkStrength then
      self.direction = -1
    else
      self.direction = 0
    end
    return
  end
  if v1.walkStrength > v2.walkStrength then
    if strength < v1.walkStrength then self.direction = -1 else self.direction = 0 end
  else
    if strength < v2.walkStrength then self.direction = 1 else self.direction = 0 end
  end
end

function BinaryConstraint:isSatisfied() return self.direction ~= 0 end
function BinaryConstraint:markUnsatisfied() self.direction = 0 end
function BinaryConstraint:markInputs(mark) self:input().mark = mark end

function BinaryConstraint:input()
  if self.direction == 1 then return self.v1 end
  return self.v2
end

function BinaryConstraint:output()
  if self.direction == 1 then return self.v2 end
  return self.v1
end

function BinaryConstraint:inputsKnown(mark)
  local i = self:input()
  return i.mark == mark or i.stay or i.determinedBy == nil
end

function BinaryConstraint:recalculate()
  local i = self:input()
  local out = self:output()
  out.walkStrength = math.max(self.strength, i.walkStrength)
  out.stay = i.stay
  if out.stay then self:execute() end
end

-- EqualityConstraint: v1 = v2
local EqualityConstraint = class(BinaryConstraint)

function EqualityConstraint:execute()
  self:output().value = self:input().value
end

function EqualityConstraint.new(a, b, strength, planner)
  local c = setmetatable({}, EqualityConstraint):init(a, b, strength, planner)
  c:addConstraint()
  return c
end

-- ScaleConstraint: v2 = v1 * scale + offset (scale and offset are inputs only)
local ScaleConstraint = class(BinaryConstraint)

function ScaleConstraint:addToGraph()
  BinaryConstraint.addToGraph(self)
  self.scale:addConstraint(self)
  self.offset:addConstraint(self)
end

function ScaleConstraint:removeFromGraph()
  BinaryConstraint.removeFromGraph(self)
  if self.scale ~= nil then self.scale:removeConstraint(self) end
  if self.offset ~= nil then self.offset:removeConstraint(self) end
end

function ScaleConstraint:markInputs(mark)
  BinaryConstraint.markInputs(self, mark)
  self.scale.mark = mark
  self.offset.mark = mark
end

function ScaleConstraint:execute()
  if self.direction == 1 then
    self.v2.value = self.v1.value * self.scale.value + self.offset.value
  else
    self.v1.value = (self.v2.value - self.offset.value) // self.scale.value
  end
end

function ScaleConstraint:recalculate()
  local i = self:input()
  local out = self:output()
  out.walkStrength = math.max(self.strength, i.walkStrength)
  out.stay = i.stay and self.scale.stay and self.offset.stay
  if out.stay then self:execute() end
end

function ScaleConstraint.new(src, scale, offset, dst, strength, planner)
  local c = setmetatable({}, ScaleConstraint):init(src, dst, strength, planner)
  c.scale = scale
  c.offset = offset
  c:addConstraint()
  return c
end

---------------------------------------------------------------------------
-- The two tests

-- Build v0 = v1 = ... = vn, stay vn, edit v0 and push 0..99 through it.
local function chainTest(n)
  local planner = Planner.new()
  local prev, first, last
  for i = 0, n do
    local v = Variable.new(0)
    if prev ~= nil then EqualityConstraint.new(prev, v, 0, planner) end
    if i == 0 then first = v end
    if i == n then last = v end
    prev = v
  end
  StayConstraint.new(last, 3, planner)
  local edit = EditConstraint.new(first, 2, planner)
  local plan = planner:extractPlanFromConstraints(Vector.with(edit))
  local sum = 0
  for i = 0, 99 do
    first.value = i
    plan:each(function(c) c:execute() end)
    if last.value ~= i then return -1 end
    sum = sum + last.value
  end
  return sum
end

local function change(v, newValue, planner)
  local edit = EditConstraint.new(v, 2, planner)
  local plan = planner:extractPlanFromConstraints(Vector.with(edit))
  for _ = 1, 10 do
    v.value = newValue
    plan:each(function(c) c:execute() end)
  end
  edit:destroyConstraint()
end

-- n pairs dst_i = src_i * scale + offset; change src, dst, scale and offset
-- in turn and check the values that the solver propagates.
local function projectionTest(n)
  local planner = Planner.new()
  local scale = Variable.new(10)
  local offset = Variable.new(1000)
  local dests = Vector.new(8)
  local src, dst
  for i = 0, n - 1 do
    src = Variable.new(i)
    dst = Variable.new(i)
    dests:append(dst)
    StayConstraint.new(src, 4, planner)
    ScaleConstraint.new(src, scale, offset, dst, 0, planner)
  end

  change(src, 17, planner)
  if dst.value ~= 1170 then return -1 end
  change(dst, 1050, planner)
  if src.value ~= 5 then return -1 end
  change(scale, 5, planner)
  for i = 0, n - 2 do
    if dests:at(i + 1).value ~= i * 5 + 1000 then return -1 end
  end
  change(offset, 2000, planner)
  for i = 0, n - 2 do
    if dests:at(i + 1).value ~= i * 5 + 2000 then return -1 end
  end

  local sum = 0
  dests:each(function(d) sum = sum + d.value end)
  return sum
end

return {
  name = "DeltaBlue",
  benchmark = function()
    return { chainTest(2000), projectionTest(2000) }
  end,
  verify = function(result)
    return result[1] == 4950 and result[2] == 13985030
  end,
}
