--[[
  Marks dead-letter queue items (style b) retried or discarded, in fields of their own hash, so the
  worker's payload is never rewritten. Items already marked keep their first mark.
  Every item hash is checked before the first write (includes/preflight.lua).

  KEYS[1] the dead-letter queue's meta key (routes the call to the queue's node; only its type is checked)
  ARGV[1] the KEYS' types  ARGV[2] job key prefix  ARGV[3] status  ARGV[4] at (ms)  ARGV[5] by
  ARGV[6] reason ("" = none)  ARGV[7..] job ids

  Returns the ids marked now.
]]
local rcall = redis.call

-- @include "includes/preflight.lua"

local problem = checkKeyTypes(ARGV[1])
if problem then return problem end
for i = 7, #ARGV do
  problem = checkHash(ARGV[2] .. ARGV[i])
  if problem then return problem end
end

local marked = {}
for i = 7, #ARGV do
  local jobKey = ARGV[2] .. ARGV[i]
  if rcall("EXISTS", jobKey) == 1 and not rcall("HGET", jobKey, "queuectl.status") then
    rcall("HSET", jobKey, "queuectl.status", ARGV[3], "queuectl.at", ARGV[4], "queuectl.by", ARGV[5])
    if ARGV[6] ~= "" then rcall("HSET", jobKey, "queuectl.reason", ARGV[6]) end
    marked[#marked + 1] = ARGV[i]
  end
end
return marked
