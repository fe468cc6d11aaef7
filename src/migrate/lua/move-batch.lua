--[[
  queuectl migrate: move one batch of jobs from one state of a source queue into the same state of
  their destination queues, atomically. Matches BullMQ 6.7.0 (addStandardJob, addPrioritizedJob,
  addDelayedJob, includes/*): same keys, markers, events, priority counter.

  KEYS[1] source state key (wait list, or prioritized/delayed/failed zset)
  KEYS[2] source events stream
  KEYS[3] source meta
  KEYS[4] journal hash (progress counters of this run)
  then for destination d (1-based), ten keys starting at 4 + (d-1)*10 + 1:
    wait, prioritized, delayed, failed, meta, id, pc, marker, events, active

  ARGV[1] state: wait | prioritized | delayed | failed
  ARGV[2] source key prefix, "<prefix>:<queue>:"
  ARGV[3] batch size
  ARGV[4] boundary: the job that ended the previous window (jobs at and past it stay), "" = none
  ARGV[5] tombstone: a value no job id can take (contains ':'), used to cut jobs out of the list
  ARGV[6] JSON { dests: [destination key prefix...], names: [destination queue name...],
                 routes: { <job name>: <destination index> } } ("*" routes every name)
  ARGV[7] "" to move; else a dry run: classify the window at this offset from the oldest job,
          write nothing, and count in movedPerDest the jobs that would move (the plan uses this,
          so plan and move decide with the same code)
  ARGV[8] dry runs only: "" checks each job's flow and lock keys and its id in every destination
          here; else JSON { flagged: { <id>: "flow" | "locked" }, check: [ per destination: does
          it hold any job ] } from a SCAN the caller just took, so the plan reads one hash per job
          and asks about collisions only where one is possible. A move always checks every job.

  Returns { moved, boundary, exhausted, stays, movedPerDest }:
    stays        flat list id, reason, name for every job left in place in this window
    movedPerDest one count per destination
  A window is the oldest jobs just before the boundary: the tail of `wait` (workers take from the
  right) or the lowest scores of a zset. Jobs that stay become the boundary, so the next window
  starts past them and every call makes progress.
]]
-- @include "includes/source.lua"
-- @include "includes/classify.lua"
-- @include "includes/destination.lua"

local state, srcPrefix, batch, boundary, tombstone = sourceArgs(ARGV)
local cfg = cjson.decode(ARGV[6])
local dests = cfg.dests
local routes = cfg.routes
local isList = state == 'wait'
local dry = ARGV[7] ~= ''
local dryOffset = tonumber(ARGV[7]) or 0
local snapshot = dry and ARGV[8] and ARGV[8] ~= '' and cjson.decode(ARGV[8]) or nil

-- The ten keys of destination d (see the header), in finishDestination's order.
local function destKeys(d)
  local dk = {}
  for i = 1, 10 do dk[i] = KEYS[4 + (d - 1) * 10 + i] end
  return dk
end

-- 1. The window, oldest job first (a dry run needs no scores).
local ids, scores, listIdx, zStart, exhausted = readWindow(KEYS[1], isList, batch, boundary, dry, dryOffset, not dry)

-- 2. Classify and move each job.
local stays = {}
local moved = {}          -- positions in ids that moved
local perDest = {}
local waitPush = {}       -- per destination, ids oldest first
local zadds = {}          -- per destination, score/id pairs for the state's zset
local maxNumeric = {}     -- per destination, highest numeric id moved
local touched = {}
for d = 1, #dests do perDest[d] = 0; waitPush[d] = {}; zadds[d] = {}; maxNumeric[d] = 0 end

-- A dry run reads every job first and asks one EXISTS for the whole window ("no job here is a
-- flow parent, locked, or has a namesake in its destination"), re-asking per job only when some
-- do. A move checks each job with one EXISTS right before moving it, while its keys are hot
-- (measured with callgrind: a window-wide EXISTS first cost more than it saved here).
local fields, jobKeys = {}, {}
local anyFlowOrLock, anyTaken = true, true
if dry then
  local flowOrLock, destTaken = {}, {}
  for n = 1, #ids do
    local jobKey = srcPrefix .. ids[n]
    jobKeys[n] = jobKey
    local f = jobFields(jobKey)
    fields[n] = f
    if f[1] then
      if not snapshot then
        flowOrLock[#flowOrLock + 1] = jobKey .. ':dependencies'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':processed'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':failed'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':unsuccessful'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':lock'
      end
      local d = routeOf(routes, f[1])
      if d and (not snapshot or snapshot.check[d]) then destTaken[#destTaken + 1] = dests[d] .. ids[n] end
    end
  end
  anyFlowOrLock = countExisting(flowOrLock) > 0
  anyTaken = countExisting(destTaken) > 0
end

local eventsOf = {}
for d = 1, #dests do eventsOf[d] = KEYS[4 + (d - 1) * 10 + 9] end
local prioPending = {}    -- per destination, { priority, id } in order; counters come from one INCRBY
for d = 1, #dests do prioPending[d] = {} end
for n = 1, #ids do
  local id = ids[n]
  local jobKey = jobKeys[n] or srcPrefix .. id
  local f = fields[n] or jobFields(jobKey)
  local name = f[1]
  local d = routeOf(routes, name)
  local isFlow, hasLock, hasLogs = false, false, false
  if name and (anyFlowOrLock or not dry) then
    isFlow, hasLock, hasLogs = jobExtras(jobKey, not dry)
  elseif snapshot then
    local flag = snapshot.flagged[id]
    isFlow, hasLock = flag == 'flow', flag == 'locked'
  end
  local reason = stayReason(id, f, d, isFlow, hasLock)
  if reason then
    addStay(stays, id, reason, name)
  else
    local dPrefix = dests[d]
    local ok = true
    local srcDe, dstDe
    if f[5] then
      srcDe = srcPrefix .. 'de:' .. f[5]
      if rcall('GET', srcDe) == id then
        dstDe = dPrefix .. 'de:' .. f[5]
        if rcall('EXISTS', dstDe) == 1 and rcall('GET', dstDe) ~= id then
          addStay(stays, id, 'dedup-conflict', name)
          ok = false
        end
      else
        srcDe = nil
      end
    end
    if ok and dry then
      if anyTaken and (not snapshot or snapshot.check[d]) and rcall('EXISTS', dPrefix .. id) == 1 then addStay(stays, id, 'collision', name) else perDest[d] = perDest[d] + 1 end
      ok = false
    end
    local destJobKey = ok and dPrefix .. id
    if ok and rcall('RENAMENX', jobKey, destJobKey) == 0 then
      -- RENAMENX checks and moves in one call: an id the destination holds is never overwritten.
      addStay(stays, id, 'collision', name)
      ok = false
    end
    if ok then
      -- The hash, its logs and its deduplication key keep their contents and TTLs under RENAME.
      if hasLogs then rcall('RENAME', jobKey .. ':logs', destJobKey .. ':logs') end
      if srcDe then
        rcall('RENAME', srcDe, dstDe)
        local srcDn = srcPrefix .. 'dn:' .. f[5]
        if rcall('EXISTS', srcDn) == 1 and rcall('EXISTS', dPrefix .. 'dn:' .. f[5]) == 0 then
          rcall('RENAME', srcDn, dPrefix .. 'dn:' .. f[5])
        end
      end
      local num = numericId(id)
      if num and num > maxNumeric[d] then maxNumeric[d] = num end
      moved[#moved + 1] = n
      perDest[d] = perDest[d] + 1
      touched[d] = true
      local events = eventsOf[d]
      addedEvent(events, id, name)
      if isList then
        waitPush[d][#waitPush[d] + 1] = id
      elseif state == 'prioritized' then
        local pending = prioPending[d]
        -- The source score is priority·2^32 + counter, as BullMQ wrote it: the priority is exact.
        pending[#pending + 1] = math.floor(tonumber(scores[n]) / prioFactor)
        pending[#pending + 1] = id
      else
        -- delayed keeps its score (due time * 4096 + order); failed keeps finishedOn.
        local z = zadds[d]
        z[#z + 1] = scores[n]
        z[#z + 1] = id
      end
      stateEvent(events, state, id, scores[n])
      rcall('XADD', KEYS[2], '*', 'event', 'removed', 'jobId', id, 'prev', state)
    end
  end
end

-- 3. Take the moved jobs out of the source state.
local nMoved = #moved
removeMoved(KEYS[1], isList, ids, moved, listIdx, boundary, tombstone, zStart)

-- 4. Add them to their destinations, then markers, id counters, event trimming, journal.
local movedOut = {}
for d = 1, #dests do
  movedOut[d] = perDest[d]
  if touched[d] then
    local dk = destKeys(d)
    if state == 'prioritized' then
      -- One INCRBY hands out the same counters as BullMQ's INCR per job would, in order.
      local pending = prioPending[d]
      local last = rcall('INCRBY', dk[7], #pending / 2)
      local counter = last - #pending / 2
      local z = zadds[d]
      for i = 1, #pending, 2 do
        counter = counter + 1
        z[#z + 1] = pending[i] * prioFactor + counter % prioFactor
        z[#z + 1] = pending[i + 1]
      end
    end
    finishDestination(dk, state, waitPush[d], zadds[d], maxNumeric[d])
    rcall('HINCRBY', KEYS[4], 'moved:' .. cfg.names[d] .. ':' .. state, perDest[d])
  end
end
if nMoved > 0 then
  rcall('XTRIM', KEYS[2], 'MAXLEN', '~', maxEvents(KEYS[3]))
  rcall('HINCRBY', KEYS[4], 'moved', nMoved)
  local t = rcall('TIME')
  rcall('HSET', KEYS[4], 'updated', t[1] * 1000 + math.floor(t[2] / 1000))
end

return { nMoved, nextBoundaryOf(stays, boundary), exhausted, stays, movedOut }
