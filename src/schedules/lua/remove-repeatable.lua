--[[
  Removes an old-style repeatable job (BullMQ <= 5) and its next delayed job, in one step, the way
  BullMQ 5's removeRepeatable did; BullMQ 6 has no call for it any more.

  KEYS[1] the queue's `repeat` zset
  KEYS[2] the queue's `delayed` zset
  KEYS[3] the queue's `events` stream
  KEYS[4] the queue's `meta` hash
  ARGV[1] the repeatable job's member of the zset
  ARGV[2] the queue's key prefix (`<prefix>:<queue>:`)
  ARGV[3..] ids its next job may have (BullMQ 5 used two forms): each one still delayed goes too

  Returns 1 when the member was there, 0 when it was already gone.
]]
local rcall = redis.call
local removed = rcall("ZREM", KEYS[1], ARGV[1])
rcall("DEL", KEYS[1] .. ":" .. ARGV[1])
local maxEvents = tonumber(rcall("HGET", KEYS[4], "opts.maxLenEvents") or 10000)
for i = 3, #ARGV do
  local jobId = ARGV[i]
  -- Only a job still waiting for its time: one already due or running is a job like any other.
  if rcall("ZREM", KEYS[2], jobId) == 1 then
    local jobKey = ARGV[2] .. jobId
    rcall("DEL", jobKey, jobKey .. ":logs")
    rcall("XADD", KEYS[3], "MAXLEN", "~", maxEvents, "*", "event", "removed", "jobId", jobId, "prev", "delayed")
  end
end
return removed
