-- harness.lua: runs one Lua twin of an Espell benchmark and reports its timings
-- in the same format as bench/Harness.som, so that one parser reads both.
--
--   lua5.4 bench/lua/harness.lua <Name> [iterations=1] [inner=1]
--
-- Each outer iteration times `inner` runs of benchmark() (each followed by
-- verify) and prints
--   <Name>: iterations=1 runtime: <us>us
-- and at the end
--   <Name>: iterations=<n> average: <us>us total: <us>us
-- Times are CPU microseconds from os.clock() (pure Lua 5.4 has no
-- sub-second wall clock).

local function usage()
  io.stderr:write("usage: lua5.4 harness.lua <BenchmarkName> [iterations=1] [inner=1]\n")
  os.exit(1)
end

local name = arg[1]
if not name then usage() end
local iterations = math.tointeger(tonumber(arg[2] or "1"))
local inner = math.tointeger(tonumber(arg[3] or "1"))
if not iterations or iterations < 1 or not inner or inner < 1 then usage() end

local dir = (arg[0] or ""):match("^(.*[/\\])") or "./"
local path = dir .. name .. ".lua"
local file = io.open(path, "r")
if not file then
  io.stderr:write(name .. ": no such benchmark class\n")
  os.exit(1)
end
file:close()
local bench = assert(loadfile(path))()
local benchmark, verify = bench.benchmark, bench.verify

local clock = os.clock
local total = 0
for _ = 1, iterations do
  local start = clock()
  local ok = true
  for _ = 1, inner do
    if not verify(benchmark()) then ok = false; break end
  end
  local elapsed = math.floor((clock() - start) * 1e6 + 0.5)
  if not ok then
    io.stderr:write(name .. ": FAILED verification\n")
    os.exit(1)
  end
  total = total + elapsed
  io.write(name, ": iterations=1 runtime: ", elapsed, "us\n")
end
io.write(name, ": iterations=", iterations, " average: ", total // iterations,
  "us total: ", total, "us\n")
