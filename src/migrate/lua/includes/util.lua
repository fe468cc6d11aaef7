-- Shared by the migrate scripts: Redis calls in chunks.
local rcall = redis.call

-- unpack() is limited by the Lua stack: send long argument lists in chunks (even, for ZADD pairs).
local function chunked(cmd, key, list)
  for i = 1, #list, 1000 do rcall(cmd, key, unpack(list, i, math.min(i + 999, #list))) end
end

-- Sum of EXISTS over many keys, in chunks.
local function countExisting(list)
  local total = 0
  for i = 1, #list, 1000 do total = total + rcall('EXISTS', unpack(list, i, math.min(i + 999, #list))) end
  return total
end

-- DEL of many keys, in chunks: one call per thousand keys instead of one per key.
local function delAll(list)
  for i = 1, #list, 1000 do rcall('DEL', unpack(list, i, math.min(i + 999, #list))) end
end
