--[[
  Shared by every dlq script (each defines rcall first). Redis does not roll back a script that
  fails after its first write, so a script checks, before writing anything, every key it will
  touch: a key of another type, or a value a later command rejects, refuses the whole call.
  The refusal is one error reply, "QUEUECTL_BLOCKED <json>", which src/dlq/preflight.ts turns
  into one line naming the key (the same check it runs for --dry-run).
]]
local function blocked(key, found, expected)
  return redis.error_reply("QUEUECTL_BLOCKED " .. cjson.encode({ key = key, found = found, expected = expected }))
end

-- KEYS[i] must be absent or of the i-th type of the comma list `types` (the caller's ARGV[1]).
local function checkKeyTypes(types)
  local i = 0
  for expected in string.gmatch(types, "[^,]+") do
    i = i + 1
    local found = rcall("TYPE", KEYS[i])["ok"]
    if found ~= "none" and found ~= expected then return blocked(KEYS[i], found, expected) end
  end
end

-- A job hash the script reads or writes: absent or a hash.
local function checkHash(key)
  local found = rcall("TYPE", key)["ok"]
  if found ~= "none" and found ~= "hash" then return blocked(key, found, "hash") end
end

-- A counter INCR will raise: absent, or an integer INCR accepts (and does not overflow).
local function checkCounter(key)
  local value = rcall("GET", key)
  if value and not (string.match(value, "^%-?%d+$") and #value < 19) then
    return blocked(key, 'string "' .. string.sub(value, 1, 40) .. '"', "an integer")
  end
end

--[[
  BullMQ's isQueuePausedOrMaxed (no marker while paused or at global concurrency), read with the
  events stream's MAXLEN in one HMGET of the queue's meta hash; activeKey may be nil (no marker).
  Returns pausedOrMaxed, opts.maxLenEvents (nil when unset: each caller picks its default), and a
  refusal when a field holds what LLEN's comparison or XADD's MAXLEN would reject.
]]
local function queueState(metaKey, activeKey)
  local meta = rcall("HMGET", metaKey, "paused", "concurrency", "opts.maxLenEvents")
  if meta[3] and not (string.match(meta[3], "^%d+$") and #meta[3] < 19) then
    return false, nil, blocked(metaKey, 'field opts.maxLenEvents "' .. string.sub(meta[3], 1, 40) .. '"', "a whole number")
  end
  if meta[2] and not tonumber(meta[2]) then
    return false, nil, blocked(metaKey, 'field concurrency "' .. string.sub(meta[2], 1, 40) .. '"', "a number")
  end
  local pausedOrMaxed = false
  if meta[1] then
    pausedOrMaxed = true
  elseif meta[2] and activeKey then
    pausedOrMaxed = rcall("LLEN", activeKey) >= tonumber(meta[2])
  end
  return pausedOrMaxed, meta[3] or nil, nil
end
