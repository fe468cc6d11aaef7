--[[
  queuectl dlq discard, style (a): removes failed jobs (hash, logs and the other per-job keys)
  and their failed-set member. Jobs no longer failed are left alone; flow children are skipped.

  KEYS[1] failed  KEYS[2] events  KEYS[3] meta
  ARGV[1] job key prefix  ARGV[2..] job ids

  Returns the ids removed.
]]
local rcall = redis.call
local prefix = ARGV[1]
local maxEvents = rcall("HGET", KEYS[3], "opts.maxLenEvents") or 10000
local removed = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local jobKey = prefix .. id
  if rcall("ZSCORE", KEYS[1], id) and not rcall("HGET", jobKey, "parentKey") then
    rcall("ZREM", KEYS[1], id)
    rcall("DEL", jobKey, jobKey .. ":logs", jobKey .. ":dependencies", jobKey .. ":processed",
      jobKey .. ":failed", jobKey .. ":unsuccessful")
    rcall("XADD", KEYS[2], "MAXLEN", "~", maxEvents, "*", "event", "removed", "jobId", id, "prev", "failed")
    removed[#removed + 1] = id
  end
end
return removed
