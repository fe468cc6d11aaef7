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
  then the source's id counter (read: destination counters are kept ahead of it)

  ARGV[1] state: wait | prioritized | delayed | failed
  ARGV[2] source key prefix, "<prefix>:<queue>:"
  ARGV[3] batch size
  ARGV[4] boundary: the job that ended the previous window (jobs at and past it stay), "" = none
  ARGV[5] tombstone: a value no job id can take (contains ':'), used to cut jobs out of the list
  ARGV[6] JSON { dests: [destination key prefix...], names: [destination queue name...],
                 routes: { <job name>: <destination index> } } ("*" routes every name)
  ARGV[7] "" to move; else a dry run: classify the window at this offset from the oldest job,
          write nothing, and count in movedPerDest the jobs that would move (the plan uses this,
          so plan and move decide with the same code); "check": read no job, only check the keys
          every batch of this state touches (source, journal, every destination) and return them
          in badKeys (a one-pass run's check before its first write: job-level keys are checked
          by each batch, which is refused whole)
  ARGV[8] dry runs only: "" checks each job's flow and lock keys and its id in every destination
          here; else JSON { flagged: { <id>: "flow" | "locked" }, check: [ per destination: does
          it hold any job ] } from a SCAN the caller just took, so the plan reads one hash per job
          and asks about collisions only where one is possible. A move always checks every job.

  Returns { moved, boundary, exhausted, stays, movedPerDest, badKeys, renamed, duplicates }:
    stays        flat list id, reason, name for every job left in place in this window
    movedPerDest one count per destination (renamed jobs included, duplicates not)
    badKeys      dry runs: flat key, found, wanted for each key that is not what BullMQ keeps there
    renamed      flat dest, old id, new id ("" in a dry run) of jobs moved under a fresh id
    duplicates   flat dest, id, name of legacy copies removed as duplicates

  Id policy (a job's id the destination already holds):
    numeric (BullMQ's automatic ids): never a collision. The job moves under the destination's next
      id (INCR, as BullMQ's addJob), recorded in the journal as id:<dest>:<old> = <new>. And each
      batch keeps the destination's counter ID_GAP ahead of the source's, so while old producers
      keep adding to the source during a cutover, the two ranges do not meet (ids are kept).
    custom, same job (same name and data): a duplicate. The destination's copy is kept, the legacy
      copy is removed (so no old worker runs it again), counted in the journal's `duplicates`.
    custom, another job: it stays (collision), reported.
  Every check comes before the first write (Redis keeps the writes of a script that fails midway):
  a move that finds a key of the wrong type writes nothing and fails with QUEUECTL_BADKEY.
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
local checkOnly = ARGV[7] == 'check'
local dryOffset = tonumber(ARGV[7]) or 0
local snapshot = dry and ARGV[8] and ARGV[8] ~= '' and cjson.decode(ARGV[8]) or nil
local bad = {}            -- keys that are not what BullMQ keeps there (key-check.lua)
local srcIdKey = KEYS[4 + #dests * 10 + 1]

-- The ten keys of destination d (see the header), in finishDestination's order.
local function destKeys(d)
  local dk = {}
  for i = 1, 10 do dk[i] = KEYS[4 + (d - 1) * 10 + i] end
  return dk
end

local perDest = {}
for d = 1, #dests do perDest[d] = 0 end

-- 0. The source's own keys (a wrong type fails the very first read, or the last writes).
expectType(bad, KEYS[1], isList and 'list' or 'zset')
expectType(bad, KEYS[2], 'stream')
expectMeta(bad, KEYS[3])
if not dry or checkOnly then expectType(bad, KEYS[4], 'hash') end
if srcIdKey then expectCounter(bad, srcIdKey) end
if checkOnly then
  for d = 1, #dests do expectDestination(bad, destKeys(d)) end
  return { 0, boundary, 1, {}, perDest, bad, {}, {} }
end
if #bad > 0 then
  if dry then return { 0, boundary, 1, {}, perDest, bad, {}, {} } end
  return refuseBadKeys(bad)
end

-- 1. The window, oldest job first (a dry run needs no scores).
local ids, scores, listIdx, zStart, exhausted = readWindow(KEYS[1], isList, batch, boundary, dry, dryOffset, not dry)

-- A dry run reads every job first and asks one EXISTS for the whole window ("no job here is a
-- flow parent, locked, or has a namesake in its destination"), re-asking per job only when some
-- do. A move checks each job with one EXISTS while its keys are hot (measured with callgrind: a
-- window-wide EXISTS first cost more than it saved here).
local fields, jobKeys = {}, {}
local anyFlowOrLock, anyTaken, anyLogs = true, true, true
if dry then
  local flowOrLock, destTaken, logs = {}, {}, {}
  for n = 1, #ids do
    local jobKey = srcPrefix .. ids[n]
    jobKeys[n] = jobKey
    local f = jobFields(bad, jobKey)
    fields[n] = f
    if f and f[1] then
      if not snapshot then
        flowOrLock[#flowOrLock + 1] = jobKey .. ':dependencies'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':processed'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':failed'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':unsuccessful'
        flowOrLock[#flowOrLock + 1] = jobKey .. ':lock'
      end
      logs[#logs + 1] = jobKey .. ':logs'
      local d = routeOf(routes, f[1])
      if d and (not snapshot or snapshot.check[d]) then destTaken[#destTaken + 1] = dests[d] .. ids[n] end
    end
  end
  anyFlowOrLock = countExisting(flowOrLock) > 0
  anyTaken = countExisting(destTaken) > 0
  anyLogs = countExisting(logs) > 0
end

local renamed, dups = {}, {}

-- 2. Classify every job, reading only: which move (with their keys checked), which stay and why.
local stays = {}
local movers = {}         -- { n, d, deid (when its de: key names it), dstDe, hasLogs } per job to move
local touched = {}
local seen = {}
for n = 1, #ids do
  local id = ids[n]
  local jobKey = jobKeys[n] or srcPrefix .. id
  local f = fields[n]
  if f == nil then
    f = jobFields(bad, jobKey)
    fields[n] = f
  end
  if f then
    local name = f[1]
    local d = routeOf(routes, name)
    local isFlow, hasLock, hasLogs = false, false, false
    if name and (anyFlowOrLock or not dry) then
      isFlow, hasLock, hasLogs = jobExtras(jobKey, not dry)
    elseif snapshot then
      local flag = snapshot.flagged[id]
      isFlow, hasLock = flag == 'flow', flag == 'locked'
    end
    if dry and name and anyLogs then hasLogs = rcall('EXISTS', jobKey .. ':logs') == 1 end
    -- An id listed twice in the window: its second entry has no hash left once the first moved.
    local reason = seen[id] and 'missing-hash' or stayReason(id, f, d, isFlow, hasLock)
    seen[id] = true
    if reason then
      addStay(stays, id, reason, name)
    else
      local dPrefix = dests[d]
      local ok = true
      local srcDe, dstDe
      if f[5] then
        srcDe = srcPrefix .. 'de:' .. f[5]
        if checkedGet(bad, srcDe) == id then
          dstDe = dPrefix .. 'de:' .. f[5]
          local holder = checkedGet(bad, dstDe)
          if holder and holder ~= id then
            addStay(stays, id, 'dedup-conflict', name)
            ok = false
          end
          expectType(bad, srcPrefix .. 'dn:' .. f[5], 'hash')
        else
          srcDe = nil
        end
      end
      -- An id the destination holds is never overwritten. A move learns it from RENAMENX (step 3),
      -- which checks and moves in one call; it can fail on no key's type.
      if ok and dry and anyTaken and (not snapshot or snapshot.check[d]) and rcall('EXISTS', dPrefix .. id) == 1 then
        local outcome = collisionOutcome(id, name, dests[d], jobKey)
        if outcome == 'renamed' then
          addFlat(renamed, d, id, '')
        elseif outcome == 'duplicate' then
          addFlat(dups, d, id, name)
          ok = false
        else
          addStay(stays, id, 'collision', name)
          ok = false
        end
      end
      if ok then
        if hasLogs then expectType(bad, jobKey .. ':logs', 'list') end
        movers[#movers + 1] = { n, d, srcDe and f[5], dstDe, hasLogs }
        touched[d] = true
        perDest[d] = perDest[d] + 1
      end
    end
  end
end

-- The destinations jobs go to, and the journal's counters (HINCRBY needs integers).
expectBatchTargets(bad, touched, destKeys, cfg.names, (not dry and #movers > 0) and KEYS[4] or nil, { state })

if dry then return { 0, nextBoundaryOf(stays, boundary), exhausted, stays, perDest, bad, renamed, dups } end
if #bad > 0 then return refuseBadKeys(bad) end

-- 3. Move: nothing below can fail on a key's type or content any more.
local moved = {}          -- positions in ids that moved
local waitPush = {}       -- per destination, ids oldest first
local zadds = {}          -- per destination, score/id pairs for the state's zset
local maxNumeric = {}     -- per destination, highest numeric id moved
local prioPending = {}    -- per destination, { priority, id } in order; counters come from one INCRBY
for d = 1, #dests do waitPush[d] = {}; zadds[d] = {}; maxNumeric[d] = 0; prioPending[d] = {} end
-- A job whose hash is now destJobKey: its logs and deduplication keys follow (contents and TTLs
-- kept by RENAME), it is queued for its state in the destination, with BullMQ's events.
local function placeJob(n, d, id, destJobKey, deid, dstDe, hasLogs)
  local jobKey = srcPrefix .. ids[n]
  local dPrefix = dests[d]
  if hasLogs then rcall('RENAME', jobKey .. ':logs', destJobKey .. ':logs') end
  if deid then
    rcall('RENAME', srcPrefix .. 'de:' .. deid, dstDe)
    local srcDn = srcPrefix .. 'dn:' .. deid
    if rcall('EXISTS', srcDn) == 1 and rcall('EXISTS', dPrefix .. 'dn:' .. deid) == 0 then
      rcall('RENAME', srcDn, dPrefix .. 'dn:' .. deid)
    end
  end
  local num = numericId(id)
  if num and num > maxNumeric[d] then maxNumeric[d] = num end
  moved[#moved + 1] = n
  local events = KEYS[4 + (d - 1) * 10 + 9]
  addedEvent(events, id, fields[n][1])
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
  rcall('XADD', KEYS[2], '*', 'event', 'removed', 'jobId', ids[n], 'prev', state)
end

-- Destination counters ahead of the ids moving in and of the source's (raiseIdCounters).
local maxCandidate = {}
for _, m in ipairs(movers) do
  local num = numericId(ids[m[1]])
  if num and num > (maxCandidate[m[2]] or 0) then maxCandidate[m[2]] = num end
end
raiseIdCounters(maxCandidate, srcIdKey, function(d) return destKeys(d)[6] end)
local function freshId(d) return freshIdIn(destKeys(d)[6], dests[d]) end

local nDups = 0
for _, m in ipairs(movers) do
  local n, d, deid, dstDe, hasLogs = m[1], m[2], m[3], m[4], m[5]
  local id = ids[n]
  local name = fields[n][1]
  local jobKey = srcPrefix .. id
  local destJobKey = dests[d] .. id
  if rcall('RENAMENX', jobKey, destJobKey) == 1 then
    placeJob(n, d, id, destJobKey, deid, dstDe, hasLogs)
  else
    local outcome = collisionOutcome(id, name, dests[d], jobKey)
    local newId = outcome == 'renamed' and freshId(d)
    if newId then
      rcall('RENAME', jobKey, dests[d] .. newId)
      placeJob(n, d, newId, dests[d] .. newId, deid, dstDe, hasLogs)
      if deid then rcall('SET', dstDe, newId, 'KEEPTTL') end
      addFlat(renamed, d, id, newId)
      rcall('HSET', KEYS[4], 'id:' .. cfg.names[d] .. ':' .. id, newId)
    elseif outcome == 'duplicate' then
      -- The destination holds this very job: the legacy copy goes, as BullMQ's removeJob would.
      rcall('DEL', jobKey, jobKey .. ':logs')
      if deid then rcall('DEL', srcPrefix .. 'de:' .. deid) end
      rcall('XADD', KEYS[2], '*', 'event', 'removed', 'jobId', id, 'prev', state)
      moved[#moved + 1] = n
      nDups = nDups + 1
      addFlat(dups, d, id, name)
      perDest[d] = perDest[d] - 1
    else
      addStay(stays, id, 'collision', name)
      perDest[d] = perDest[d] - 1
    end
  end
end

-- 4. Take the moved jobs (and removed duplicates) out of the source state.
removeMoved(KEYS[1], isList, ids, moved, listIdx, boundary, tombstone, zStart)
local nMoved = #moved - nDups

-- 5. Add them to their destinations, then markers, id counters, event trimming, journal.
for d = 1, #dests do
  if perDest[d] > 0 then
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
if nDups > 0 then rcall('HINCRBY', KEYS[4], 'duplicates', nDups) end
if #renamed > 0 then rcall('HINCRBY', KEYS[4], 'renamed', #renamed / 3) end
if #moved > 0 then
  rcall('XTRIM', KEYS[2], 'MAXLEN', '~', maxEvents(KEYS[3]))
  rcall('HINCRBY', KEYS[4], 'moved', nMoved)
  local t = rcall('TIME')
  rcall('HSET', KEYS[4], 'updated', t[1] * 1000 + math.floor(t[2] / 1000))
end

return { nMoved, nextBoundaryOf(stays, boundary), exhausted, stays, perDest, {}, renamed, dups }
