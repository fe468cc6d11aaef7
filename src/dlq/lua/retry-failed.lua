--[[
  queuectl dlq retry, style (a): puts failed jobs back into their own queue under their own id,
  like BullMQ's Job.retry (reprocessJob) with attempts reset, but a whole batch per call.
  A job that is no longer in the failed set is skipped, so a rerun never queues a job twice.

  KEYS[1] failed  KEYS[2] wait  KEYS[3] meta  KEYS[4] active  KEYS[5] marker
  KEYS[6] prioritized  KEYS[7] pc (priority counter)  KEYS[8] events
  ARGV[1] job key prefix ("bull:<queue>:")  ARGV[2..] job ids, oldest first

  Returns { retried, notFailed, gone, inFlow }
]]
local rcall = redis.call
local prefix = ARGV[1]

-- @include "includes/queue-state.lua"

local pausedOrMaxed, maxEvents = queueState(KEYS[3], KEYS[4])
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", KEYS[3], "opts.maxLenEvents", maxEvents)
end

local fifo = {}
local retried, notFailed, gone, inFlow = 0, 0, 0, 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if not rcall("ZSCORE", KEYS[1], id) then
    notFailed = notFailed + 1
  else
    local jobKey = prefix .. id
    local f = rcall("HMGET", jobKey, "priority", "opts", "parentKey", "name")
    if not f[2] and not f[4] and rcall("EXISTS", jobKey) == 0 then
      -- A member without a hash: nothing to run; drop the dangling member.
      rcall("ZREM", KEYS[1], id)
      gone = gone + 1
    elseif f[3] then
      -- Flow children go back through BullMQ's own retry, which also fixes the parent.
      inFlow = inFlow + 1
    else
      rcall("ZREM", KEYS[1], id)
      rcall("HDEL", jobKey, "atm", "ats", "stc", "attemptsMade", "failedReason", "stacktrace",
        "finishedOn", "processedOn")
      local priority = tonumber(f[1]) or 0
      if priority > 0 then
        local counter = rcall("INCR", KEYS[7])
        rcall("ZADD", KEYS[6], priority * 0x100000000 + counter % 0x100000000, id)
      elseif f[2] and string.find(f[2], '"lifo":true', 1, true) then
        rcall("RPUSH", KEYS[2], id)
      else
        fifo[#fifo + 1] = id
      end
      rcall("XADD", KEYS[8], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id, "prev", "failed")
      retried = retried + 1
    end
  end
end

-- Oldest first, so the oldest ends up at the tail, where workers take from.
for from = 1, #fifo, 5000 do
  rcall("LPUSH", KEYS[2], unpack(fifo, from, math.min(from + 4999, #fifo)))
end
if retried > 0 and not pausedOrMaxed then
  rcall("ZADD", KEYS[5], 0, "0")
end
return { retried, notFailed, gone, inFlow }
