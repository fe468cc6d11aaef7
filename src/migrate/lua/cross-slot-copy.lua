--[[
  queuectl migrate across Redis Cluster slots, step 2 of 3 (runs in the DESTINATION slot): put the
  parked jobs of one batch into the same state of the destination, atomically and idempotently.

  The call's verdicts are recorded in the destination's copied-hash under the flight's token, in
  the same atomic step. Running the same call again (a re-sent command) answers that record and
  writes nothing, so nothing is added twice; a resumed run reads it to know which parked jobs are
  already in the destination. An id the destination already holds is a collision, never overwritten. The hash and its state are written in one script, so the
  destination never holds a hash that is in no state (removeOrphanedJobs would delete it).
  Matches BullMQ 6.7.0's addStandardJob / addPrioritizedJob / addDelayedJob like move-batch.lua.

  KEYS[1..10] destination wait, prioritized, delayed, failed, meta, id, pc, marker, events, active
  KEYS[11]    copied-hash of this run in the destination slot

  ARGV[1] mode: copy | probe     ARGV[2] state     ARGV[3] destination key prefix
  ARGV[4] token of the flight being copied
  ARGV[5] F, then F tokens of settled flights whose copied records can go
  then, probe: triples id, dedupId, hasLogs ("1": the copy will RPUSH its logs)
        copy:  one JSON array of jobs [id, score, dedupId, dedupPttl, hash, logs, dn] (from take),
               then the source's id counter (destination counters are kept ID_GAP ahead of it)
  Returns a flat list id, verdict: ok | renamed:<new id> | duplicate | collision | dedup-conflict;
  probe: { that list (renamed without the new id), badKeys }. The id policy is move-batch.lua's: a
  numeric id the destination holds moves under its next id; a custom one held by the same job (name
  and data) is a duplicate (not copied; settle removes the parked copy); another job's: collision.
  Every key is checked before the first write: a copy that meets a key of the wrong type writes
  nothing and fails with QUEUECTL_BADKEY (its batch stays parked; a rerun settles it).
]]
-- @include "includes/destination.lua"
-- @include "includes/key-check.lua"

local mode, state, dPrefix, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local copied = KEYS[11]
local bad = {}

-- The destination's keys and the copied-hash, before anything is written.
expectDestination(bad, KEYS)
expectType(bad, copied, 'hash')

local i = 5
local forget = tonumber(ARGV[i])
local forgetAt = i + 1
i = i + 1 + forget

-- name and data of a flat job hash (as take sends it).
local function nameAndData(fields)
  local name, data
  for k = 1, #fields, 2 do
    if fields[k] == 'name' then name = fields[k + 1] elseif fields[k] == 'data' then data = fields[k + 1] end
  end
  return name, data
end

-- fields: the job's flat hash, or nil (probe: a custom id held there is a collision).
local function verdict(id, deid, fields)
  local taken = rcall('EXISTS', dPrefix .. id) == 1
  if taken and not numericId(id) then
    if fields then
      local theirs = redis.pcall('HMGET', dPrefix .. id, 'name', 'data')
      local name, data = nameAndData(fields)
      if not theirs.err and theirs[1] == name and theirs[2] == data then return 'duplicate' end
    end
    return 'collision'
  end
  if deid ~= '' then
    local holder = checkedGet(bad, dPrefix .. 'de:' .. deid)
    if holder and holder ~= id then return 'dedup-conflict' end
  end
  return taken and 'renamed' or 'ok'
end

local out = {}
if mode == 'probe' then
  while i <= #ARGV do
    out[#out + 1] = ARGV[i]
    out[#out + 1] = verdict(ARGV[i], ARGV[i + 1])
    if out[#out] == 'ok' and ARGV[i + 2] == '1' then expectType(bad, dPrefix .. ARGV[i] .. ':logs', 'list') end
    i = i + 3
  end
  return { out, bad }
end
if #bad > 0 then return refuseBadKeys(bad) end

local done = rcall('HGET', copied, token)
if done then return cjson.decode(done) end

-- Verdicts first, reading only; a job's logs are appended to (RPUSH) a key that must be a list.
local batchJobs = cjson.decode(ARGV[i])
local srcCounter = tonumber(ARGV[i + 1] or '') or 0
local verdicts = {}
local maxCandidate = 0
for k, job in ipairs(batchJobs) do
  verdicts[k] = verdict(job[1], job[3], job[5])
  if verdicts[k] == 'ok' and #job[6] > 0 then expectType(bad, dPrefix .. job[1] .. ':logs', 'list') end
  local num = (verdicts[k] == 'ok' or verdicts[k] == 'renamed') and numericId(job[1])
  if num and num > maxCandidate then maxCandidate = num end
end
if #bad > 0 then return refuseBadKeys(bad) end

for k = forgetAt, forgetAt + forget - 1 do rcall('HDEL', copied, ARGV[k]) end

-- The destination's counter ahead of every numeric id copied in and ID_GAP ahead of the source's
-- (move-batch.lua's rule), before a fresh id is handed out.
if maxCandidate > 0 then
  local floor = math.max(maxCandidate, srcCounter) + 1000000
  if (tonumber(rcall('GET', KEYS[6]) or '0') or 0) < floor then rcall('SET', KEYS[6], floor) end
end
local function freshId()
  for _ = 1, 1000 do
    local candidate = tostring(rcall('INCR', KEYS[6]))
    if rcall('EXISTS', dPrefix .. candidate) == 0 then return candidate end
  end
  return nil
end

local events = KEYS[9]
local push, zadd = {}, {}
local maxNumeric, nCopied = 0, 0
for k, job in ipairs(batchJobs) do
  local id, score, deid, pttl, fields, logs, dn = job[1], job[2], job[3], job[4], job[5], job[6], job[7]
  local v = verdicts[k]
  out[#out + 1] = id
  if v == 'renamed' then
    local newId = freshId()
    if newId then
      v = 'renamed:' .. newId
      id = newId
    else
      v = 'collision'
    end
  end
  out[#out + 1] = v
  if v == 'ok' or id ~= job[1] then
    local jobKey = dPrefix .. id
    local name, priority = '', nil
    for k = 1, #fields, 2 do
      if fields[k] == 'name' then name = fields[k + 1] elseif fields[k] == 'priority' then priority = tonumber(fields[k + 1]) end
    end
    chunked('HSET', jobKey, fields)
    if #logs > 0 then chunked('RPUSH', jobKey .. ':logs', logs) end
    if deid ~= '' and pttl ~= -2 then
      if pttl > 0 then rcall('SET', dPrefix .. 'de:' .. deid, id, 'PX', pttl) else rcall('SET', dPrefix .. 'de:' .. deid, id) end
      if #dn > 0 and rcall('EXISTS', dPrefix .. 'dn:' .. deid) == 0 then chunked('HSET', dPrefix .. 'dn:' .. deid, dn) end
    end
    local num = numericId(id)
    if num and num > maxNumeric then maxNumeric = num end
    addedEvent(events, id, name)
    if state == 'wait' then
      push[#push + 1] = id
    elseif state == 'prioritized' then
      -- BullMQ's INCR per job, as addPrioritizedJob does (move-batch.lua batches it into one INCRBY).
      local p = priority or math.floor(tonumber(score) / prioFactor)
      local counter = rcall('INCR', KEYS[7])
      zadd[#zadd + 1] = p * prioFactor + counter % prioFactor
      zadd[#zadd + 1] = id
    else
      zadd[#zadd + 1] = score
      zadd[#zadd + 1] = id
    end
    stateEvent(events, state, id, score)
    nCopied = nCopied + 1
  end
end

if nCopied > 0 then finishDestination(KEYS, state, push, zadd, maxNumeric) end
rcall('HSET', copied, token, cjson.encode(out))
return out
