--[[
  Marks dead-letter queue items (style b) retried or discarded, in fields of their own hash, so the
  worker's payload is never rewritten. Items already marked keep their first mark.

  KEYS[1] the dead-letter queue's meta key (routes the call to the queue's node)
  ARGV[1] job key prefix  ARGV[2] status  ARGV[3] at (ms)  ARGV[4] by  ARGV[5] reason ("" = none)
  ARGV[6..] job ids

  Returns the ids marked now.
]]
local rcall = redis.call
local marked = {}
for i = 6, #ARGV do
  local jobKey = ARGV[1] .. ARGV[i]
  if rcall("EXISTS", jobKey) == 1 and not rcall("HGET", jobKey, "queuectl.status") then
    rcall("HSET", jobKey, "queuectl.status", ARGV[2], "queuectl.at", ARGV[3], "queuectl.by", ARGV[4])
    if ARGV[5] ~= "" then rcall("HSET", jobKey, "queuectl.reason", ARGV[5]) end
    marked[#marked + 1] = ARGV[i]
  end
end
return marked
