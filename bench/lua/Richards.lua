-- Richards: Martin Richards' simulation of the task dispatcher of a small
-- operating system kernel (twin of bench/Richards.som and its Richards* classes).
-- Size: one run with the idle task counting down from 10000.
-- Verification: 23246 packets queued, 9297 holds.

-- Packet: a message between tasks, also a link of a singly linked queue.
local Packet = {}
Packet.__index = Packet

function Packet.new(link, identity, kind)
  return setmetatable({ link = link, identity = identity, kind = kind,
    datum = 0, data = { 0, 0, 0, 0 } }, Packet)
end

-- Append self to the end of queue; answer the queue's new head.
function Packet:appendTo(queue)
  self.link = nil
  if queue == nil then return self end
  local nxt = queue
  local peek = nxt.link
  while peek ~= nil do
    nxt = peek
    peek = nxt.link
  end
  nxt.link = self
  return queue
end

-- TCB: task control block. State bits: 1 packet pending, 2 suspended, 4 held.
local TCB = {}
TCB.__index = TCB

function TCB.new(link, identity, priority, queue, task)
  return setmetatable({ link = link, identity = identity, priority = priority,
    queue = queue, task = task, state = (queue == nil) and 2 or 3 }, TCB)
end

function TCB:setRunning() self.state = 0 end
function TCB:markAsNotHeld() self.state = self.state & 3 end
function TCB:markAsHeld() self.state = (self.state & 3) + 4 end
function TCB:markAsSuspended()
  if self.state & 2 == 0 then self.state = self.state + 2 end
end
function TCB:markAsRunnable()
  if self.state & 1 == 0 then self.state = self.state + 1 end
end
function TCB:isHeldOrSuspended()
  local state = self.state
  return state & 4 ~= 0 or state == 2
end

function TCB:run()
  local packet
  if self.state == 3 then
    packet = self.queue
    local q = packet.link
    self.queue = q
    if q == nil then self.state = 0 else self.state = 1 end
  else
    packet = nil
  end
  return self.task:runWith(packet)
end

function TCB:checkPriorityAdd(oldTcb, packet)
  if self.queue == nil then
    self.queue = packet
    self:markAsRunnable()
    if self.priority > oldTcb.priority then return self end
  else
    self.queue = packet:appendTo(self.queue)
  end
  return oldTcb
end

-- Tasks
local IdleTask = {}
IdleTask.__index = IdleTask
function IdleTask.new(scheduler, count)
  return setmetatable({ scheduler = scheduler, control = 1, count = count }, IdleTask)
end
function IdleTask:runWith(packet)
  local count = self.count - 1
  self.count = count
  if count == 0 then return self.scheduler:holdCurrent() end
  local control = self.control
  if control & 1 == 0 then
    self.control = control >> 1
    return self.scheduler:release(5)
  else
    self.control = (control >> 1) ~ 53256
    return self.scheduler:release(6)
  end
end

local WorkerTask = {}
WorkerTask.__index = WorkerTask
function WorkerTask.new(scheduler)
  return setmetatable({ scheduler = scheduler, destination = 3, letter = 0 }, WorkerTask)
end
function WorkerTask:runWith(packet)
  if packet == nil then return self.scheduler:suspendCurrent() end
  if self.destination == 3 then self.destination = 4 else self.destination = 3 end
  packet.identity = self.destination
  packet.datum = 0
  local data = packet.data
  local letter = self.letter
  for i = 1, 4 do
    letter = letter + 1
    if letter > 26 then letter = 1 end
    data[i] = letter
  end
  self.letter = letter
  return self.scheduler:queue(packet)
end

local HandlerTask = {}
HandlerTask.__index = HandlerTask
function HandlerTask.new(scheduler)
  return setmetatable({ scheduler = scheduler, workQueue = nil, deviceQueue = nil }, HandlerTask)
end
function HandlerTask:runWith(packet)
  if packet ~= nil then
    if packet.kind == 1 then
      self.workQueue = packet:appendTo(self.workQueue)
    else
      self.deviceQueue = packet:appendTo(self.deviceQueue)
    end
  end
  local workQueue = self.workQueue
  if workQueue ~= nil then
    local count = workQueue.datum
    if count < 4 then
      local device = self.deviceQueue
      if device ~= nil then
        self.deviceQueue = device.link
        device.datum = workQueue.data[count + 1]
        workQueue.datum = count + 1
        return self.scheduler:queue(device)
      end
    else
      self.workQueue = workQueue.link
      return self.scheduler:queue(workQueue)
    end
  end
  return self.scheduler:suspendCurrent()
end

local DeviceTask = {}
DeviceTask.__index = DeviceTask
function DeviceTask.new(scheduler)
  return setmetatable({ scheduler = scheduler, pending = nil }, DeviceTask)
end
function DeviceTask:runWith(packet)
  if packet == nil then
    local p = self.pending
    if p == nil then return self.scheduler:suspendCurrent() end
    self.pending = nil
    return self.scheduler:queue(p)
  else
    self.pending = packet
    return self.scheduler:holdCurrent()
  end
end

-- Scheduler. Task ids: 1 idle, 2 worker, 3/4 handlers, 5/6 devices.
-- Packet kinds: 0 device, 1 work.
local Scheduler = {}
Scheduler.__index = Scheduler

function Scheduler.new()
  return setmetatable({ queueCount = 0, holdCount = 0,
    blocks = { false, false, false, false, false, false },
    list = nil, currentTcb = nil, currentId = 0 }, Scheduler)
end

function Scheduler:addTask(id, priority, queue, task)
  local tcb = TCB.new(self.list, id, priority, queue, task)
  self.currentTcb = tcb
  self.list = tcb
  self.blocks[id] = tcb
end

function Scheduler:addRunningTask(id, priority, queue, task)
  self:addTask(id, priority, queue, task)
  self.currentTcb:setRunning()
end

function Scheduler:runWithCount(count)
  self:addRunningTask(1, 0, nil, IdleTask.new(self, count))

  local queue = Packet.new(nil, 2, 1)
  queue = Packet.new(queue, 2, 1)
  self:addTask(2, 1000, queue, WorkerTask.new(self))

  queue = Packet.new(nil, 5, 0)
  queue = Packet.new(queue, 5, 0)
  queue = Packet.new(queue, 5, 0)
  self:addTask(3, 2000, queue, HandlerTask.new(self))

  queue = Packet.new(nil, 6, 0)
  queue = Packet.new(queue, 6, 0)
  queue = Packet.new(queue, 6, 0)
  self:addTask(4, 3000, queue, HandlerTask.new(self))

  self:addTask(5, 4000, nil, DeviceTask.new(self))
  self:addTask(6, 5000, nil, DeviceTask.new(self))

  self:schedule()
end

function Scheduler:schedule()
  local tcb = self.list
  self.currentTcb = tcb
  while tcb ~= nil do
    if tcb:isHeldOrSuspended() then
      tcb = tcb.link
    else
      self.currentId = tcb.identity
      tcb = tcb:run()
    end
    self.currentTcb = tcb
  end
end

function Scheduler:release(id)
  local tcb = self.blocks[id]
  if not tcb then return nil end
  tcb:markAsNotHeld()
  if tcb.priority > self.currentTcb.priority then return tcb end
  return self.currentTcb
end

function Scheduler:holdCurrent()
  self.holdCount = self.holdCount + 1
  local tcb = self.currentTcb
  tcb:markAsHeld()
  return tcb.link
end

function Scheduler:suspendCurrent()
  local tcb = self.currentTcb
  tcb:markAsSuspended()
  return tcb
end

function Scheduler:queue(packet)
  local tcb = self.blocks[packet.identity]
  if not tcb then return nil end
  self.queueCount = self.queueCount + 1
  packet.link = nil
  packet.identity = self.currentId
  return tcb:checkPriorityAdd(self.currentTcb, packet)
end

return {
  name = "Richards",
  benchmark = function()
    local scheduler = Scheduler.new()
    scheduler:runWithCount(10000)
    return { scheduler.queueCount, scheduler.holdCount }
  end,
  verify = function(result)
    return result[1] == 23246 and result[2] == 9297
  end,
}
