-- Json: a small recursive-descent JSON parser run over a fixed document of
-- 1596 characters (twin of bench/Json.som, JsonParser.som, JsonObject.som and
-- BenchVector.som). Each parse tree is walked and summarised.
-- Size: 40 parses. Verification, per parse: 21 objects, 23 arrays, 118 strings
-- (member names included) of 606 characters, integers summing to 8598,
-- decimals summing to 55500 hundredths, 11 true, 7 false, 3 null.
--
-- SOM has no character type, so the SOM parser looks at one-character
-- Strings (charAt:); this one looks at byte codes (string.byte), the Lua way
-- of reading a string one character at a time. Strings, Integers and Doubles
-- are built the same way: substrings concatenated at escapes, tonumber for
-- numbers. JSON null is a unique sentinel table (a Lua table cannot hold nil).

local byte, sub = string.byte, string.sub

---------------------------------------------------------------------------
-- BenchVector: growable 1-based array (bench/BenchVector.som); only what the
-- parser and the walk use.
local Vector = {}
Vector.__index = Vector

function Vector.new(capacity)
  return setmetatable({ storage = {}, capacity = capacity or 8, firstIdx = 1, lastIdx = 1 }, Vector)
end

function Vector:size() return self.lastIdx - self.firstIdx end
function Vector:at(index) return self.storage[self.firstIdx + index - 1] end

function Vector:append(element)
  if self.lastIdx > self.capacity then self:grow() end
  local last = self.lastIdx
  self.storage[last] = element
  self.lastIdx = last + 1
  return element
end

function Vector:each(f)
  local storage = self.storage
  for i = self.firstIdx, self.lastIdx - 1 do f(storage[i]) end
end

function Vector:grow()
  local n = self.lastIdx - self.firstIdx
  local first = self.firstIdx
  self.storage = table.move(self.storage, first, first + n - 1, 1, {})
  self.capacity = self.capacity * 2 + 4
  self.firstIdx = 1
  self.lastIdx = n + 1
end

---------------------------------------------------------------------------
-- JsonObject: member names and values in the order of the text.
local Object = {}
Object.__index = Object

function Object.new()
  return setmetatable({ names = Vector.new(8), values = Vector.new(8) }, Object)
end

function Object:atPut(name, value)
  self.names:append(name)
  self.values:append(value)
end

function Object:at(name)
  local names = self.names
  for i = 1, names:size() do
    if names:at(i) == name then return self.values:at(i) end
  end
  return nil
end

function Object:size() return self.names:size() end

function Object:namesAndValuesDo(f)
  local names, values = self.names, self.values
  for i = 1, names:size() do f(names:at(i), values:at(i)) end
end

local NULL = setmetatable({}, { __name = "null" })

---------------------------------------------------------------------------
-- JsonParser
local B_LBRACE, B_RBRACE, B_LBRACKET, B_RBRACKET = byte("{}[]", 1, 4)
local B_QUOTE, B_BACKSLASH, B_SLASH, B_COLON, B_COMMA = byte('"\\/:,', 1, 5)
local B_MINUS, B_PLUS, B_DOT, B_0, B_9 = byte("-+.09", 1, 5)
local B_e, B_E, B_t, B_f, B_n, B_r, B_b = byte("eEtfnrb", 1, 7)
local B_SPACE, B_TAB, B_LF, B_VT, B_FF, B_CR = 32, 9, 10, 11, 12, 13

local Parser = {}
Parser.__index = Parser

function Parser.on(input)
  local p = setmetatable({ input = input, length = #input, index = 0, current = nil }, Parser)
  p:read()
  return p
end

function Parser:read()
  local index = self.index + 1
  self.index = index
  if index <= self.length then
    self.current = byte(self.input, index)
  else
    self.current = nil
  end
end

function Parser:fail(message)
  error("JSON parse error at " .. self.index .. ": " .. message)
end

function Parser:parse()
  local value = self:readValue()
  self:skipWhiteSpace()
  if self.current ~= nil then self:fail("end of input expected") end
  return value
end

local function isWhiteSpace(c)
  return c == B_SPACE or c == B_TAB or c == B_LF or c == B_CR or c == B_VT or c == B_FF
end

local function isDigit(c)
  return c >= B_0 and c <= B_9
end

function Parser:skipWhiteSpace()
  local c = self.current
  while c ~= nil and isWhiteSpace(c) do
    self:read()
    c = self.current
  end
end

function Parser:readValue()
  self:skipWhiteSpace()
  local c = self.current
  if c == nil then self:fail("value expected") end
  if c == B_LBRACE then return self:readObject() end
  if c == B_LBRACKET then return self:readArray() end
  if c == B_QUOTE then return self:readString() end
  if c == B_t then self:expect("true"); return true end
  if c == B_f then self:expect("false"); return false end
  if c == B_n then self:expect("null"); return NULL end
  if c == B_MINUS or isDigit(c) then return self:readNumber() end
  self:fail("unexpected " .. string.char(c))
end

function Parser:readObject()
  local object = Object.new()
  self:read()
  self:skipWhiteSpace()
  if self.current == B_RBRACE then
    self:read()
    return object
  end
  repeat
    self:skipWhiteSpace()
    if self.current ~= B_QUOTE then self:fail("member name expected") end
    local name = self:readString()
    self:skipWhiteSpace()
    self:expect(":")
    object:atPut(name, self:readValue())
    self:skipWhiteSpace()
    local more = self.current == B_COMMA
    if more then self:read() end
  until not more
  self:expect("}")
  return object
end

function Parser:readArray()
  local array = Vector.new(8)
  self:read()
  self:skipWhiteSpace()
  if self.current == B_RBRACKET then
    self:read()
    return array
  end
  repeat
    array:append(self:readValue())
    self:skipWhiteSpace()
    local more = self.current == B_COMMA
    if more then self:read() end
  until not more
  self:expect("]")
  return array
end

-- Answer input from start to stop, or "" when stop < start.
function Parser:from(start, stop)
  if stop < start then return "" end
  return sub(self.input, start, stop)
end

-- current is the opening quote.
function Parser:readString()
  local result = ""
  self:read()
  local start = self.index
  while self.current ~= B_QUOTE do
    local c = self.current
    if c == nil then self:fail("unterminated string") end
    if c == B_BACKSLASH then
      result = result .. self:from(start, self.index - 1)
      self:read()
      result = result .. self:escaped()
      self:read()
      start = self.index
    else
      self:read()
    end
  end
  result = result .. self:from(start, self.index - 1)
  self:read()
  return result
end

function Parser:escaped()
  local c = self.current
  if c == B_n then return "\n" end
  if c == B_t then return "\t" end
  if c == B_r then return "\r" end
  if c == B_b then return "\b" end
  if c == B_f then return "\f" end
  if c == B_QUOTE or c == B_BACKSLASH or c == B_SLASH then return string.char(c) end
  self:fail("unsupported escape \\" .. string.char(c or 63))
end

function Parser:readNumber()
  local start = self.index
  local isDouble = false
  if self.current == B_MINUS then self:read() end
  self:readDigits()
  if self.current == B_DOT then
    isDouble = true
    self:read()
    self:readDigits()
  end
  if self.current == B_e or self.current == B_E then
    isDouble = true
    self:read()
    if self.current == B_PLUS or self.current == B_MINUS then self:read() end
    self:readDigits()
  end
  local text = sub(self.input, start, self.index - 1)
  if isDouble then return tonumber(text) + 0.0 end
  return math.tointeger(tonumber(text))
end

function Parser:readDigits()
  local start = self.index
  local c = self.current
  while c ~= nil and isDigit(c) do
    self:read()
    c = self.current
  end
  if self.index == start then self:fail("digit expected") end
end

function Parser:expect(s)
  for i = 1, #s do
    if self.current ~= byte(s, i) then self:fail(s .. " expected") end
    self:read()
  end
end

---------------------------------------------------------------------------
-- The benchmark

-- Built anew by each run, as Json.som's `document` does.
local function document()
  return '{"name": "Espell", "version": 12, "language": "SOM",'
    .. ' "tags": ["vm", "smalltalk", "virtualization", "update"],'
    .. ' "ratio": 1.25, "stable": false, "owner": null,'
    .. ' "escapes": "tab\\there, quote \\"q\\", back\\\\slash, slash \\/ end\\n",'
    .. ' "items": ['
    .. '  {"id": 1, "label": "alpha", "weight": 10.5, "active": true, "parts": [1, 2, 3]},'
    .. '  {"id": 2, "label": "beta", "weight": 20.25, "active": false, "parts": []},'
    .. '  {"id": 3, "label": "gamma", "weight": 30.0, "active": true, "parts": [4]},'
    .. '  {"id": 4, "label": "delta", "weight": 40.75, "active": true, "parts": [5, 6]},'
    .. '  {"id": 5, "label": "epsilon", "weight": 50.5, "active": false, "parts": [7, 8, 9]},'
    .. '  {"id": 6, "label": "zeta", "weight": 60.25, "active": true, "parts": [10]},'
    .. '  {"id": 7, "label": "eta", "weight": 70.0, "active": true, "parts": []},'
    .. '  {"id": 8, "label": "theta", "weight": 80.75, "active": false, "parts": [11, 12]},'
    .. '  {"id": 9, "label": "iota", "weight": 90.5, "active": true, "parts": [13]},'
    .. '  {"id": 10, "label": "kappa", "weight": 100.0, "active": true, "parts": [14, 15, 16]}'
    .. ' ],'
    .. ' "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],'
    .. ' "nested": {"a": {"b": {"c": {"d": {"e": [true, false, null, -7, 0.5]}}}}},'
    .. ' "counts": {"red": 1000, "green": 2000, "blue": -300, "alpha": 0},'
    .. ' "empty": {}, "list": [],'
    .. ' "people": ['
    .. '  {"first": "Ada", "last": "Lovelace", "born": 1815, "tags": ["math"]},'
    .. '  {"first": "Alan", "last": "Kay", "born": 1940, "tags": ["smalltalk", "objects"]},'
    .. '  {"first": "Dan", "last": "Ingalls", "born": 1944, "tags": []}'
    .. ' ],'
    .. ' "flags": [true, true, false, false, true, null],'
    .. ' "big": 123456789, "negative": -123456789, "small": -0.25, "last": "done"}'
end

local EXPECTED = { 21, 23, 118, 606, 8598, 55500, 11, 7, 3 }

local objects, arrays, strings, characters, integers, hundredths, trues, falses, nulls

local walk

local function walkMember(name, v)
  strings = strings + 1
  characters = characters + #name
  walk(v)
end

function walk(value)
  if value == NULL then nulls = nulls + 1; return end
  if value == true then trues = trues + 1; return end
  if value == false then falses = falses + 1; return end
  local mt = getmetatable(value)
  if mt == Object then
    objects = objects + 1
    value:namesAndValuesDo(walkMember)
    return
  end
  if mt == Vector then
    arrays = arrays + 1
    value:each(walk)
    return
  end
  local kind = math.type(value)
  if kind == "integer" then integers = integers + value; return end
  if kind == "float" then
    hundredths = hundredths + math.floor(value * 100 + 0.5)
    return
  end
  strings = strings + 1
  characters = characters + #value
end

return {
  name = "Json",
  benchmark = function()
    local text = document()
    objects, arrays, strings, characters = 0, 0, 0, 0
    integers, hundredths, trues, falses, nulls = 0, 0, 0, 0, 0
    for _ = 1, 40 do walk(Parser.on(text):parse()) end
    return { objects, arrays, strings, characters, integers, hundredths, trues, falses, nulls }
  end,
  verify = function(result)
    for i = 1, 9 do
      if result[i] ~= 40 * EXPECTED[i] then return false end
    end
    return true
  end,
}
