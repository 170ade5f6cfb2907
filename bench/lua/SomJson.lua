-- SomJson: twin of bench/SomJson.som (a JSON parser in the style of the
-- are-we-fast-yet Lua sources: the parser reads one-character strings with
-- string.sub, captures text with sub and concatenation, raises errors; arrays and
-- objects keep their members in a Vector with explicit storage, objects look
-- names up by a linear search). The document is built once with .. and tostring.
-- Size: 50 records (11,251 characters), parsed 12 times.
-- Verification: as in SomJson.som (50 records, ids sum 1275, 25 active, ...).

local Vector = {}
Vector.__index = Vector

function Vector.new()
  return setmetatable({ storage = {}, capacity = 50, first = 1, last = 1 }, Vector)
end

function Vector:append(element)
  if self.last > self.capacity then
    local new_storage = {}
    for i = 1, self.capacity do new_storage[i] = self.storage[i] end
    self.storage = new_storage
    self.capacity = self.capacity * 2
  end
  self.storage[self.last] = element
  self.last = self.last + 1
end

function Vector:at(index) return self.storage[self.first + index - 1] end
function Vector:size() return self.last - self.first end

function Vector:each(fn)
  for i = self.first, self.last - 1 do fn(self.storage[i]) end
end

local JsonValue = {}
JsonValue.__index = JsonValue
function JsonValue:is_object() return false end
function JsonValue:is_array() return false end
function JsonValue:is_string() return false end
function JsonValue:is_number() return false end
function JsonValue:is_true() return false end
function JsonValue:is_false() return false end
function JsonValue:is_null() return false end

local function subclass(super)
  local class = setmetatable({}, { __index = super })
  class.__index = class
  return class
end

local JsonObject = subclass(JsonValue)
function JsonObject.new()
  return setmetatable({ names = Vector.new(), values = Vector.new() }, JsonObject)
end
function JsonObject:is_object() return true end
function JsonObject:at_put(name, value)
  self.names:append(name)
  self.values:append(value)
end
function JsonObject:at(name)
  for i = self.names:size(), 1, -1 do
    if self.names:at(i) == name then return self.values:at(i) end
  end
  return nil
end
function JsonObject:size() return self.names:size() end

local JsonArray = subclass(JsonValue)
function JsonArray.new() return setmetatable({ values = Vector.new() }, JsonArray) end
function JsonArray:is_array() return true end
function JsonArray:add(value) self.values:append(value) end
function JsonArray:at(index) return self.values:at(index) end
function JsonArray:size() return self.values:size() end
function JsonArray:each(fn) self.values:each(fn) end

local JsonString = subclass(JsonValue)
function JsonString.new(string) return setmetatable({ string = string }, JsonString) end
function JsonString:is_string() return true end
function JsonString:as_string() return self.string end

local JsonNumber = subclass(JsonValue)
function JsonNumber.new(text) return setmetatable({ text = text }, JsonNumber) end
function JsonNumber:is_number() return true end
function JsonNumber:as_string() return self.text end
function JsonNumber:as_integer() return math.tointeger(tonumber(self.text)) end

local JsonLiteral = subclass(JsonValue)
function JsonLiteral.new(text) return setmetatable({ text = text }, JsonLiteral) end
function JsonLiteral:is_true() return self.text == 'true' end
function JsonLiteral:is_false() return self.text == 'false' end
function JsonLiteral:is_null() return self.text == 'null' end
function JsonLiteral:as_string() return self.text end
local NULL = JsonLiteral.new('null')
local TRUE = JsonLiteral.new('true')
local FALSE = JsonLiteral.new('false')

local Parser = {}
Parser.__index = Parser

function Parser.new(input)
  return setmetatable({ input = input, index = 0, current = nil,
                        capture_buffer = '', capture_start = -1 }, Parser)
end

function Parser:fail(expected)
  error('SomJsonParser: expected ' .. expected .. ' at ' .. self.index)
end

function Parser:read()
  self.index = self.index + 1
  if self.index <= #self.input then
    self.current = string.sub(self.input, self.index, self.index)
  else
    self.current = nil
  end
end

function Parser:is_white_space()
  local c = self.current
  if c == ' ' then return true end
  if c == '\n' then return true end
  if c == '\t' then return true end
  if c == '\r' then return true end
  return false
end

function Parser:is_digit()
  local c = self.current
  if c == '0' then return true end
  if c == '1' then return true end
  if c == '2' then return true end
  if c == '3' then return true end
  if c == '4' then return true end
  if c == '5' then return true end
  if c == '6' then return true end
  if c == '7' then return true end
  if c == '8' then return true end
  if c == '9' then return true end
  return false
end

function Parser:skip_white_space()
  while self:is_white_space() do self:read() end
end

function Parser:read_char(ch)
  if self.current ~= ch then return false end
  self:read()
  return true
end

function Parser:read_required(ch)
  if not self:read_char(ch) then self:fail(ch) end
end

function Parser:read_digit()
  if not self:is_digit() then return false end
  self:read()
  return true
end

function Parser:start_capture() self.capture_start = self.index end

function Parser:pause_capture()
  if self.capture_start < self.index then
    self.capture_buffer = self.capture_buffer
      .. string.sub(self.input, self.capture_start, self.index - 1)
  end
  self.capture_start = -1
end

function Parser:end_capture()
  local captured
  if self.capture_buffer == '' then
    if self.capture_start < self.index then
      captured = string.sub(self.input, self.capture_start, self.index - 1)
    else
      captured = ''
    end
  else
    self:pause_capture()
    captured = self.capture_buffer
    self.capture_buffer = ''
  end
  self.capture_start = -1
  return captured
end

function Parser:escaped_character()
  local c = self.current
  if c == '"' then return '"' end
  if c == '\\' then return '\\' end
  if c == '/' then return '/' end
  if c == 'n' then return '\n' end
  if c == 't' then return '\t' end
  if c == 'r' then return '\r' end
  if c == 'b' then return '\b' end
  if c == 'f' then return '\f' end
  self:fail('an escape character')
end

function Parser:read_escape()
  self:read()
  self.capture_buffer = self.capture_buffer .. self:escaped_character()
  self:read()
end

function Parser:read_string_text()
  self:read()
  self:start_capture()
  while self.current ~= '"' do
    if self.current == nil then self:fail('a closing quote') end
    if self.current == '\\' then
      self:pause_capture()
      self:read_escape()
      self:start_capture()
    else
      self:read()
    end
  end
  local text = self:end_capture()
  self:read()
  return text
end

function Parser:read_fraction()
  if not self:read_char('.') then return false end
  if not self:read_digit() then self:fail('a digit') end
  while self:read_digit() do end
  return true
end

function Parser:read_exponent()
  if not self:read_char('e') and not self:read_char('E') then return false end
  if not self:read_char('+') then self:read_char('-') end
  if not self:read_digit() then self:fail('a digit') end
  while self:read_digit() do end
  return true
end

function Parser:read_number()
  self:start_capture()
  self:read_char('-')
  local first = self.current
  if not self:read_digit() then self:fail('a digit') end
  if first ~= '0' then
    while self:read_digit() do end
  end
  self:read_fraction()
  self:read_exponent()
  return JsonNumber.new(self:end_capture())
end

function Parser:read_true()
  self:read()
  self:read_required('r')
  self:read_required('u')
  self:read_required('e')
  return TRUE
end

function Parser:read_false()
  self:read()
  self:read_required('a')
  self:read_required('l')
  self:read_required('s')
  self:read_required('e')
  return FALSE
end

function Parser:read_null()
  self:read()
  self:read_required('u')
  self:read_required('l')
  self:read_required('l')
  return NULL
end

function Parser:read_element_into(array)
  self:skip_white_space()
  array:add(self:read_value())
  self:skip_white_space()
end

function Parser:read_array()
  self:read()
  local array = JsonArray.new()
  self:skip_white_space()
  if self:read_char(']') then return array end
  self:read_element_into(array)
  while self:read_char(',') do self:read_element_into(array) end
  if not self:read_char(']') then self:fail('"," or "]"') end
  return array
end

function Parser:read_member_into(object)
  self:skip_white_space()
  if self.current ~= '"' then self:fail('a name') end
  local name = self:read_string_text()
  self:skip_white_space()
  if not self:read_char(':') then self:fail('":"') end
  self:skip_white_space()
  object:at_put(name, self:read_value())
  self:skip_white_space()
end

function Parser:read_object()
  self:read()
  local object = JsonObject.new()
  self:skip_white_space()
  if self:read_char('}') then return object end
  self:read_member_into(object)
  while self:read_char(',') do self:read_member_into(object) end
  if not self:read_char('}') then self:fail('"," or "}"') end
  return object
end

function Parser:read_value()
  local c = self.current
  if c == '{' then return self:read_object() end
  if c == '[' then return self:read_array() end
  if c == '"' then return JsonString.new(self:read_string_text()) end
  if c == 't' then return self:read_true() end
  if c == 'f' then return self:read_false() end
  if c == 'n' then return self:read_null() end
  if c == '-' then return self:read_number() end
  if self:is_digit() then return self:read_number() end
  self:fail('a value')
end

function Parser:parse()
  self:read()
  self:skip_white_space()
  local result = self:read_value()
  self:skip_white_space()
  if self.current ~= nil then self:fail('end of text') end
  return result
end

local NOTE = 'tab\tnew line\nquote " backslash \\ slash /'

local function make_document()
  local text = '{"title": "SOM-style JSON benchmark", "count": 50, "note": "'
    .. 'tab\\tnew line\\nquote \\" backslash \\\\ slash \\/' .. '",\n "records": ['
  for i = 1, 50 do
    if i > 1 then text = text .. ',\n' end
    text = text .. '  {"id": ' .. tostring(i)
      .. ', "name": "record ' .. tostring(i) .. '"'
      .. ', "price": ' .. tostring(i * 37 % 1000) .. '.' .. tostring(i % 100)
      .. ', "delta": -' .. tostring(i % 7) .. '.5e-3'
      .. ', "active": ' .. tostring(i % 2 == 0)
      .. ', "parent": null'
      .. ', "tags": ["t' .. tostring(i % 5) .. '", "u' .. tostring(i % 3) .. '", "v"]'
      .. ', "box": {"w": ' .. tostring(i * 3) .. ', "h": ' .. tostring(i * 2)
      .. ', "corners": [[0, 0], [' .. tostring(i) .. ', ' .. tostring(i + 1) .. ']]}'
      .. ', "label": "item \\"' .. tostring(i) .. '\\" of the list"}'
  end
  return text .. '\n]}'
end

local document = make_document()

local function verify(result)
  if result == nil or not result:is_object() then return false end
  if result:at('count'):as_integer() ~= 50 then return false end
  if result:at('note'):as_string() ~= NOTE then return false end
  local records = result:at('records')
  if not records:is_array() or records:size() ~= 50 then return false end
  local sum, active = 0, 0
  records:each(function(each)
    sum = sum + each:at('id'):as_integer()
    if each:at('active'):is_true() then active = active + 1 end
  end)
  local last = records:at(50)
  if last:at('name'):as_string() ~= 'record 50' then return false end
  if last:at('tags'):size() ~= 3 then return false end
  if not last:at('parent'):is_null() then return false end
  return sum == 1275 and active == 25
end

return {
  name = "SomJson",
  benchmark = function()
    local result
    for _ = 1, 12 do result = Parser.new(document):parse() end
    return result
  end,
  verify = verify,
}
