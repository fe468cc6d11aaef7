--[[
  queuectl dlq discard, style (a): removes failed jobs (hash, logs and the other per-job keys)
  and their failed-set member. Jobs no longer failed are left alone; flow children are skipped.
  An id that is also in another state of the queue (completed, delayed, prioritized,
  waiting-children, or held by a worker's lock) names a job that lives on under that id: only the
  stale failed member is removed, the job's hash and keys are kept.
  Every key is checked before the first write (includes/preflight.lua): a bad one refuses the call.

  KEYS[1] failed  KEYS[2] events  KEYS[3] meta  KEYS[4] completed  KEYS[5] delayed
  KEYS[6] prioritized  KEYS[7] waiting-children
  ARGV[1] the KEYS' types  ARGV[2] job key prefix  ARGV[3..] job ids

  Returns { removed ids, ids whose failed member alone was removed }.
]]
local rcall = redis.call
local prefix = ARGV[2]

-- @include "includes/preflight.lua"

local problem = checkKeyTypes(ARGV[1])
if problem then return problem end
local _, maxEvents, metaProblem = queueState(KEYS[3], nil)
if metaProblem then return metaProblem end
for i = 3, #ARGV do
  problem = checkHash(prefix .. ARGV[i])
  if problem then return problem end
end
maxEvents = maxEvents or 10000

local function livesElsewhere(id, jobKey)
  for k = 4, 7 do
    if rcall("ZSCORE", KEYS[k], id) then return true end
  end
  return rcall("EXISTS", jobKey .. ":lock") == 1
end

-- Nothing below can fail: first write.
local removed, memberOnly = {}, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local jobKey = prefix .. id
  if rcall("ZSCORE", KEYS[1], id) and not rcall("HGET", jobKey, "parentKey") then
    rcall("ZREM", KEYS[1], id)
    if livesElsewhere(id, jobKey) then
      memberOnly[#memberOnly + 1] = id
    else
      rcall("DEL", jobKey, jobKey .. ":logs", jobKey .. ":dependencies", jobKey .. ":processed",
        jobKey .. ":failed", jobKey .. ":unsuccessful")
      rcall("XADD", KEYS[2], "MAXLEN", "~", maxEvents, "*", "event", "removed", "jobId", id, "prev", "failed")
      removed[#removed + 1] = id
    end
  end
end
return { removed, memberOnly }
