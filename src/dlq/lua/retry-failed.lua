--[[
  queuectl dlq retry, style (a): puts failed jobs back into their own queue under their own id,
  like BullMQ's Job.retry (reprocessJob) with attempts reset, but a whole batch per call. Each job
  goes back to its own state kind: prioritized with its priority, lifo at the head of wait.
  A job that is no longer in the failed set is skipped, so a rerun never queues a job twice.
  Every key is checked before the first write (includes/preflight.lua): a bad one refuses the call.

  KEYS[1] failed  KEYS[2] wait  KEYS[3] meta  KEYS[4] active  KEYS[5] marker
  KEYS[6] prioritized  KEYS[7] pc (priority counter)  KEYS[8] events
  ARGV[1] the KEYS' types (comma list)  ARGV[2] job key prefix ("bull:<queue>:")
  ARGV[3..] job ids, oldest first

  Returns { retried, notFailed, gone, inFlow }
]]
local rcall = redis.call
local prefix = ARGV[2]

-- @include "includes/preflight.lua"
-- @include "includes/place-job.lua"

local problem = checkKeyTypes(ARGV[1]) or checkCounter(KEYS[7])
if problem then return problem end
local pausedOrMaxed, maxEvents, metaProblem = queueState(KEYS[3], KEYS[4])
if metaProblem then return metaProblem end
for i = 3, #ARGV do
  problem = checkHash(prefix .. ARGV[i])
  if problem then return problem end
end

-- Nothing below can fail: first write.
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", KEYS[3], "opts.maxLenEvents", maxEvents)
end

local fifo = {}
-- Failed-set members to drop, removed with one ZREM per 5,000 after the loop (as BullMQ's
-- moveJobsToWait does) instead of one call per job.
local leaving = {}
-- The ZREM comes after the loop, so an id given twice is caught here, not by ZSCORE.
local seen = {}
local retried, notFailed, gone, inFlow = 0, 0, 0, 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if seen[id] or not rcall("ZSCORE", KEYS[1], id) then
    notFailed = notFailed + 1
  else
    seen[id] = true
    local jobKey = prefix .. id
    local f = rcall("HMGET", jobKey, "priority", "opts", "parentKey", "name")
    if not f[2] and not f[4] and rcall("EXISTS", jobKey) == 0 then
      -- A member without a hash: nothing to run; drop the dangling member.
      leaving[#leaving + 1] = id
      gone = gone + 1
    elseif f[3] then
      -- Flow children go back through BullMQ's own retry, which also fixes the parent.
      inFlow = inFlow + 1
    else
      leaving[#leaving + 1] = id
      rcall("HDEL", jobKey, "atm", "ats", "stc", "attemptsMade", "failedReason", "stacktrace",
        "finishedOn", "processedOn")
      local priority, lifo = kindOf(f[1], f[2])
      placeJob(KEYS[6], KEYS[7], KEYS[2], fifo, id, priority, lifo)
      rcall("XADD", KEYS[8], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id, "prev", "failed")
      retried = retried + 1
    end
  end
end

for from = 1, #leaving, 5000 do
  rcall("ZREM", KEYS[1], unpack(leaving, from, math.min(from + 4999, #leaving)))
end
flushFifo(KEYS[2], fifo)
if retried > 0 and not pausedOrMaxed then
  rcall("ZADD", KEYS[5], 0, "0")
end
return { retried, notFailed, gone, inFlow }
