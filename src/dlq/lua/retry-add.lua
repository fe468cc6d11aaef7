--[[
  queuectl dlq retry, style (b): adds dead-letter items back to their queue as new jobs under
  their original ids, in their own state kind (prioritized with their priority, lifo at the head
  of wait). A ledger hash on the target queue (same hash slot as its other keys) remembers each
  dead-letter item it re-added, so a rerun after a crash, or a second retry, never adds the same
  item twice, even after the re-added job completed and was removed.
  Every key is checked before the first write (includes/preflight.lua): a bad one refuses the call.

  KEYS[1] wait  KEYS[2] meta  KEYS[3] active  KEYS[4] marker  KEYS[5] events  KEYS[6] id
  KEYS[7] ledger ("<prefix>:<queue>:queuectl:dlq-retried")  KEYS[8] failed
  KEYS[9] prioritized  KEYS[10] pc (priority counter)
  ARGV[1] the KEYS' types (comma list)  ARGV[2] job key prefix ("bull:<queue>:")  ARGV[3] timestamp (ms)
  ARGV[4..] groups of 7: ledger field, job id, name, data, opts (JSON), priority, lifo ("1" or "0")

  Returns one code per item: 1 added, 2 added before (ledger), 3 refused: the id exists there,
  4 the job's own failed copy was still in the target's failed set and went back (attempts reset)
]]
local rcall = redis.call
local prefix = ARGV[2]
local timestamp = ARGV[3]

-- @include "includes/preflight.lua"
-- @include "includes/place-job.lua"

local problem = checkKeyTypes(ARGV[1]) or checkCounter(KEYS[10])
if problem then return problem end
local pausedOrMaxed, maxEvents, metaProblem = queueState(KEYS[2], KEYS[3])
if metaProblem then return metaProblem end
for i = 4, #ARGV, 7 do
  problem = checkHash(prefix .. ARGV[i + 1])
  if problem then return problem end
end
maxEvents = maxEvents or 10000

-- Nothing below can fail: first write.
local codes = {}
local fifo = {}
local added = 0
for i = 4, #ARGV, 7 do
  local field, id, name, data, opts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local jobKey = prefix .. id
  if rcall("HEXISTS", KEYS[7], field) == 1 then
    codes[#codes + 1] = 2
  elseif rcall("EXISTS", jobKey) == 1 then
    if rcall("ZREM", KEYS[8], id) == 1 then
      -- The worker left the failed job behind when it wrote the dead letter: retry that very job.
      local f = rcall("HMGET", jobKey, "priority", "opts")
      rcall("HDEL", jobKey, "atm", "ats", "stc", "attemptsMade", "failedReason", "stacktrace", "finishedOn", "processedOn")
      rcall("HSET", jobKey, "queuectl.from", field)
      rcall("HSET", KEYS[7], field, id)
      local priority, lifo = kindOf(f[1], f[2])
      placeJob(KEYS[9], KEYS[10], KEYS[1], fifo, id, priority, lifo)
      rcall("XADD", KEYS[5], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id, "prev", "failed")
      codes[#codes + 1] = 4
      added = added + 1
    else
      codes[#codes + 1] = 3
    end
  else
    local priority = tonumber(ARGV[i + 5]) or 0
    rcall("HSET", jobKey, "name", name, "data", data, "opts", opts, "timestamp", timestamp,
      "delay", 0, "priority", priority, "queuectl.from", field)
    rcall("HSET", KEYS[7], field, id)
    -- An integer id came from a queue's counter; keep this queue's counter past it all the same.
    local n = string.match(id, "^%d+$") and tonumber(id)
    if n and (tonumber(rcall("GET", KEYS[6])) or 0) < n then rcall("SET", KEYS[6], id) end
    placeJob(KEYS[9], KEYS[10], KEYS[1], fifo, id, priority, ARGV[i + 6] == "1")
    rcall("XADD", KEYS[5], "MAXLEN", "~", maxEvents, "*", "event", "added", "jobId", id, "name", name)
    rcall("XADD", KEYS[5], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id)
    codes[#codes + 1] = 1
    added = added + 1
  end
end
flushFifo(KEYS[1], fifo)
if added > 0 and not pausedOrMaxed then
  rcall("ZADD", KEYS[4], 0, "0")
end
return codes
