--[[
  Shared by move-batch.lua and cross-slot-copy.lua: adding jobs to a destination the way BullMQ
  6.7.0 adds them (addStandardJob, addPrioritizedJob, addDelayedJob): same events, marker, id
  counter. dk: the destination's ten keys
    wait, prioritized, delayed, failed, meta, id, pc, marker, events, active
]]
-- @include "util.lua"

local prioFactor = 0x100000000
-- meta.version as BullMQ 6.7.0's Queue writes it (`${libName}:${version}`); test/migrate-meta.test.ts
-- holds it to the installed bullmq.
local bullmqVersion = 'bullmq:6.7.0'

-- The job id as a number when it is all digits (BullMQ's own ids), else nil. Longer than 15
-- digits it is no id BullMQ's counter will reach, and Lua would write it back as "1e+20".
local function numericId(id)
  local first = string.byte(id, 1)
  if first and first >= 48 and first <= 57 and #id <= 15 and string.match(id, '^%d+$') then return tonumber(id) end
  return nil
end

-- The first event of an added job; stateEvent follows once the job is queued for its state.
local function addedEvent(events, id, name)
  rcall('XADD', events, '*', 'event', 'added', 'jobId', id, 'name', name)
end

-- waiting (wait, prioritized) or delayed (with its delay from the score); failed has none.
local function stateEvent(events, state, id, score)
  if state == 'wait' or state == 'prioritized' then
    rcall('XADD', events, '*', 'event', 'waiting', 'jobId', id)
  elseif state == 'delayed' then
    rcall('XADD', events, '*', 'event', 'delayed', 'jobId', id, 'delay', math.floor(tonumber(score) / 0x1000))
  end
end

-- opts.maxLenEvents of a queue, written with BullMQ's default when missing (as BullMQ does).
local function maxEvents(metaKey)
  local m = rcall('HGET', metaKey, 'opts.maxLenEvents')
  if not m then
    m = 10000
    rcall('HSET', metaKey, 'opts.maxLenEvents', m)
  end
  return m
end

--[[
  After the jobs of one call: queue them in their state (push: ids for wait, oldest first; zadd:
  score/id pairs for the zsets), then the marker workers wait on, the id counter (never below a
  numeric id moved in, maxNumeric), the events trim, and meta.version when the queue has none (a
  destination migrate created would otherwise read as "no version" to doctor: mixed versions).
]]
local function finishDestination(dk, state, push, zadd, maxNumeric)
  if state == 'wait' then
    chunked('LPUSH', dk[1], push)
  else
    chunked('ZADD', dk[state == 'prioritized' and 2 or (state == 'delayed' and 3 or 4)], zadd)
  end
  if state == 'wait' or state == 'prioritized' then
    local a = rcall('HMGET', dk[5], 'paused', 'concurrency')
    if not a[1] and not (a[2] and rcall('LLEN', dk[10]) >= tonumber(a[2])) then rcall('ZADD', dk[8], 0, '0') end
  elseif state == 'delayed' then
    local first = rcall('ZRANGE', dk[3], 0, 0, 'WITHSCORES')
    if first[2] then rcall('ZADD', dk[8], math.floor(tonumber(first[2]) / 0x1000), '1') end
  end
  if maxNumeric > 0 then
    local current = tonumber(rcall('GET', dk[6]) or '0') or 0
    if current < maxNumeric then rcall('SET', dk[6], maxNumeric) end
  end
  rcall('XTRIM', dk[9], 'MAXLEN', '~', maxEvents(dk[5]))
  rcall('HSETNX', dk[5], 'version', bullmqVersion)
end

-- Id policy shared by the moves (move-batch.lua, bull-move-batch.lua): each destination's counter
-- ahead of every numeric id moved into it and ID_GAP ahead of the source's, before any fresh id is
-- handed out, so while old producers keep adding to the source during a cutover the two ranges do
-- not meet. topByDest: destination index -> highest numeric id moving there; idKeyOf(d): its counter.
local ID_GAP = 1000000
local function raiseIdCounters(topByDest, srcIdKey, idKeyOf)
  local srcCounter = tonumber(srcIdKey and rcall('GET', srcIdKey) or '0') or 0
  for d, top in pairs(topByDest) do
    local idKey = idKeyOf(d)
    local floor = math.max(top, srcCounter) + ID_GAP
    if (tonumber(rcall('GET', idKey) or '0') or 0) < floor then rcall('SET', idKey, floor) end
  end
end

-- The destination's next id no job holds (BullMQ's own INCR); nil after a thousand taken ones.
local function freshIdIn(idKey, destPrefix)
  for _ = 1, 1000 do
    local candidate = tostring(rcall('INCR', idKey))
    if rcall('EXISTS', destPrefix .. candidate) == 0 then return candidate end
  end
  return nil
end

-- What a job whose id the destination queue (key prefix destPrefix) holds becomes, reading only:
-- a numeric id is renamed; a custom id held by the same job (name, data) is a duplicate; by
-- another job, or under a key that is not a hash, a collision (it stays in the source).
local function collisionOutcome(id, name, destPrefix, jobKey)
  if numericId(id) then return 'renamed' end
  local theirs = redis.pcall('HMGET', destPrefix .. id, 'name', 'data')
  if theirs.err then return 'collision' end
  if theirs[1] == name and theirs[2] == rcall('HGET', jobKey, 'data') then return 'duplicate' end
  return 'collision'
end

-- Appends one outcome (three values) to a flat list.
local function addFlat(list, a, b, c)
  list[#list + 1] = a
  list[#list + 1] = b
  list[#list + 1] = c
end
