--[[
  queuectl dlq retry, style (b): adds dead-letter items back to their original queue as new jobs
  under their original ids. A ledger hash on the target queue (same hash slot as its other keys)
  remembers each dead-letter item it re-added, so a rerun after a crash, or a second retry, never
  adds the same item twice, even after the re-added job completed and was removed.

  KEYS[1] wait  KEYS[2] meta  KEYS[3] active  KEYS[4] marker  KEYS[5] events  KEYS[6] id
  KEYS[7] ledger ("<prefix>:<queue>:queuectl:dlq-retried")  KEYS[8] failed
  ARGV[1] job key prefix ("bull:<queue>:")  ARGV[2] timestamp (ms)
  ARGV[3..] groups of 5: ledger field, job id, name, data, opts (JSON)

  Returns one code per item: 1 added, 2 added before (ledger), 3 refused: the id exists there,
  4 the job's own failed copy was still in the target's failed set and went back to wait (attempts reset)
]]
local rcall = redis.call
local prefix = ARGV[1]
local timestamp = ARGV[2]

-- @include "includes/queue-state.lua"

local pausedOrMaxed, maxEvents = queueState(KEYS[2], KEYS[3])
maxEvents = maxEvents or 10000

local codes = {}
local added = 0
for i = 3, #ARGV, 5 do
  local field, id, name, data, opts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local jobKey = prefix .. id
  if rcall("HEXISTS", KEYS[7], field) == 1 then
    codes[#codes + 1] = 2
  elseif rcall("EXISTS", jobKey) == 1 then
    if rcall("ZREM", KEYS[8], id) == 1 then
      -- The worker left the failed job behind when it wrote the dead letter: retry that very job.
      rcall("HDEL", jobKey, "atm", "ats", "stc", "attemptsMade", "failedReason", "stacktrace", "finishedOn", "processedOn")
      rcall("HSET", jobKey, "queuectl.from", field)
      rcall("HSET", KEYS[7], field, id)
      rcall("LPUSH", KEYS[1], id)
      rcall("XADD", KEYS[5], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id, "prev", "failed")
      codes[#codes + 1] = 4
      added = added + 1
    else
      codes[#codes + 1] = 3
    end
  else
    rcall("HSET", jobKey, "name", name, "data", data, "opts", opts, "timestamp", timestamp,
      "delay", 0, "priority", 0, "queuectl.from", field)
    rcall("HSET", KEYS[7], field, id)
    -- An integer id came from this queue's counter; keep the counter past it all the same.
    local n = tonumber(id)
    if n and (tonumber(rcall("GET", KEYS[6])) or 0) < n then rcall("SET", KEYS[6], id) end
    rcall("LPUSH", KEYS[1], id)
    rcall("XADD", KEYS[5], "MAXLEN", "~", maxEvents, "*", "event", "added", "jobId", id, "name", name)
    rcall("XADD", KEYS[5], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id)
    codes[#codes + 1] = 1
    added = added + 1
  end
end
if added > 0 and not pausedOrMaxed then
  rcall("ZADD", KEYS[4], 0, "0")
end
return codes
