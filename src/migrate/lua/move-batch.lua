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

  Returns { moved, boundary, exhausted, stays, movedPerDest }:
    stays        flat list id, reason, name for every job left in place in this window
    movedPerDest one count per destination
  A window is the oldest jobs just before the boundary: the tail of `wait` (workers take from the
  right) or the lowest scores of a zset. Jobs that stay become the boundary, so the next window
  starts past them and every call makes progress.
]]
local rcall = redis.call
local state = ARGV[1]
local srcPrefix = ARGV[2]
local batch = tonumber(ARGV[3])
local boundary = ARGV[4]
local tombstone = ARGV[5]
local cfg = cjson.decode(ARGV[6])
local dests = cfg.dests
local routes = cfg.routes
local isList = state == 'wait'
local dry = ARGV[7] ~= ''
local dryOffset = tonumber(ARGV[7]) or 0

local function dkey(d, i) return KEYS[4 + (d - 1) * 10 + i] end
-- unpack() is limited by the Lua stack: send long argument lists in chunks (even, for ZADD pairs).
local function chunked(cmd, key, list)
  for i = 1, #list, 1000 do rcall(cmd, key, unpack(list, i, math.min(i + 999, #list))) end
end

-- 1. The window, oldest job first.
local ids = {}       -- oldest first
local scores = {}    -- zsets only (not in a dry run), as Redis formats them
local listIdx = {}   -- wait only: negative index of each id
local zStart = 0     -- zsets only: rank of the window's first job
local exhausted = 0
if isList then
  local len = rcall('LLEN', KEYS[1])
  local stop = len - 1
  if dry then
    stop = len - 1 - dryOffset
  elseif boundary ~= '' then
    local pos = rcall('LPOS', KEYS[1], boundary, 'RANK', -1)
    -- A boundary taken meanwhile (an old worker, a removal) restarts the scan from the tail.
    if pos then stop = pos - 1 end
  end
  local start = stop - batch + 1
  if start < 0 then start = 0 end
  if stop < 0 then
    exhausted = 1
  else
    local window = rcall('LRANGE', KEYS[1], start - len, stop - len)
    for i = #window, 1, -1 do
      ids[#ids + 1] = window[i]
      listIdx[#ids] = start + i - 1 - len
    end
    if start == 0 then exhausted = 1 end
  end
else
  zStart = 0
  if dry then
    zStart = dryOffset
  elseif boundary ~= '' then
    local rank = rcall('ZRANK', KEYS[1], boundary)
    if rank then zStart = rank + 1 end
  end
  if dry then
    -- Classifying needs no scores: skip formatting and parsing a thousand doubles.
    ids = rcall('ZRANGE', KEYS[1], zStart, zStart + batch - 1)
  else
    local window = rcall('ZRANGE', KEYS[1], zStart, zStart + batch - 1, 'WITHSCORES')
    for i = 1, #window, 2 do
      ids[#ids + 1] = window[i]
      scores[#ids] = window[i + 1]   -- kept as text: ZADD takes it back exactly as it came
    end
  end
  if #ids < batch then exhausted = 1 end
end

-- 2. Classify and move each job.
local stays = {}
local moved = {}          -- positions in ids that moved
local perDest = {}
local waitPush = {}       -- per destination, ids oldest first
local zadds = {}          -- per destination, score/id pairs for the state's zset
local maxNumeric = {}     -- per destination, highest numeric id moved
local touched = {}
for d = 1, #dests do perDest[d] = 0; waitPush[d] = {}; zadds[d] = {}; maxNumeric[d] = 0 end

local function stay(id, reason, name)
  stays[#stays + 1] = id
  stays[#stays + 1] = reason
  stays[#stays + 1] = name or ''
end

-- Sum of EXISTS over many keys, in chunks.
local function countExisting(list)
  local total = 0
  for i = 1, #list, 1000 do total = total + rcall('EXISTS', unpack(list, i, math.min(i + 999, #list))) end
  return total
end

-- Keys beside a job hash that keep it in place: a flow parent has :dependencies while children are
-- pending and :processed / :failed / :unsuccessful once some finished (its :dependencies may be gone
-- by then), so any of the four makes it a flow job, like a parentKey/parent field; a :lock means a
-- worker holds it. A dry run reads every job first and asks one EXISTS for the whole window ("no
-- job here is a flow parent, locked, or has a namesake in its destination"), re-asking per job only
-- when some do. A move checks each job with one EXISTS right before moving it, while its keys are
-- hot (measured with callgrind: a window-wide EXISTS first cost more than it saved here).
local fields, jobKeys = {}, {}
local anyFlowOrLock, anyTaken = true, true
if dry then
  local flowOrLock, destTaken = {}, {}
  for n = 1, #ids do
    local jobKey = srcPrefix .. ids[n]
    jobKeys[n] = jobKey
    local f = rcall('HMGET', jobKey, 'name', 'parentKey', 'parent', 'rjk', 'deid')
    fields[n] = f
    if f[1] then
      flowOrLock[#flowOrLock + 1] = jobKey .. ':dependencies'
      flowOrLock[#flowOrLock + 1] = jobKey .. ':processed'
      flowOrLock[#flowOrLock + 1] = jobKey .. ':failed'
      flowOrLock[#flowOrLock + 1] = jobKey .. ':unsuccessful'
      flowOrLock[#flowOrLock + 1] = jobKey .. ':lock'
      local d = routes[f[1]] or routes['*']
      if d then destTaken[#destTaken + 1] = dests[d] .. ids[n] end
    end
  end
  anyFlowOrLock = countExisting(flowOrLock) > 0
  anyTaken = countExisting(destTaken) > 0
end

local byte = string.byte
local eventsOf = {}
for d = 1, #dests do eventsOf[d] = dkey(d, 9) end
local prioFactor = 0x100000000
local prioPending = {}    -- per destination, { priority, id } in order; counters come from one INCRBY
for d = 1, #dests do prioPending[d] = {} end
for n = 1, #ids do
  local id = ids[n]
  local jobKey = jobKeys[n] or srcPrefix .. id
  local f = fields[n] or rcall('HMGET', jobKey, 'name', 'parentKey', 'parent', 'rjk', 'deid')
  local name = f[1]
  local d = name and (routes[name] or routes['*'])
  local isFlow, hasLock, hasLogs = false, false, false
  if name and (anyFlowOrLock or not dry) then
    -- One call answers "no flow keys, no lock, no logs" for the common job; ask again only if not.
    local extras = rcall('EXISTS', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful', jobKey .. ':lock', jobKey .. ':logs')
    if extras > 0 then
      isFlow = rcall('EXISTS', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful') > 0
      hasLock = rcall('EXISTS', jobKey .. ':lock') == 1
      hasLogs = not dry and rcall('EXISTS', jobKey .. ':logs') == 1
    end
  end
  if not name then
    stay(id, 'missing-hash', '')
  elseif f[2] or f[3] or isFlow then -- parentKey, parent
    stay(id, 'flow', name)
  elseif f[4] or (byte(id, 1) == 114 and string.sub(id, 1, 7) == 'repeat:') then -- 114: 'r'
    stay(id, 'scheduler', name)
  elseif not d then
    stay(id, 'unrouted', name)
  elseif hasLock then
    stay(id, 'locked', name)
  else
    local dPrefix = dests[d]
    local ok = true
    local srcDe, dstDe
    if f[5] then
      srcDe = srcPrefix .. 'de:' .. f[5]
      if rcall('GET', srcDe) == id then
        dstDe = dPrefix .. 'de:' .. f[5]
        if rcall('EXISTS', dstDe) == 1 and rcall('GET', dstDe) ~= id then
          stay(id, 'dedup-conflict', name)
          ok = false
        end
      else
        srcDe = nil
      end
    end
    if ok and dry then
      if anyTaken and rcall('EXISTS', dPrefix .. id) == 1 then stay(id, 'collision', name) else perDest[d] = perDest[d] + 1 end
      ok = false
    end
    local destJobKey = ok and dPrefix .. id
    if ok and rcall('RENAMENX', jobKey, destJobKey) == 0 then
      -- RENAMENX checks and moves in one call: an id the destination holds is never overwritten.
      stay(id, 'collision', name)
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
      local first = byte(id, 1)
      if first >= 48 and first <= 57 and string.match(id, '^%d+$') then
        local num = tonumber(id)
        if num > maxNumeric[d] then maxNumeric[d] = num end
      end
      moved[#moved + 1] = n
      perDest[d] = perDest[d] + 1
      touched[d] = true
      local events = eventsOf[d]
      rcall('XADD', events, '*', 'event', 'added', 'jobId', id, 'name', name)
      if isList then
        waitPush[d][#waitPush[d] + 1] = id
        rcall('XADD', events, '*', 'event', 'waiting', 'jobId', id)
      elseif state == 'prioritized' then
        local pending = prioPending[d]
        -- The source score is priority·2^32 + counter, as BullMQ wrote it: the priority is exact.
        pending[#pending + 1] = math.floor(tonumber(scores[n]) / prioFactor)
        pending[#pending + 1] = id
        rcall('XADD', events, '*', 'event', 'waiting', 'jobId', id)
      else
        -- delayed keeps its score (due time * 4096 + order); failed keeps finishedOn.
        local z = zadds[d]
        z[#z + 1] = scores[n]
        z[#z + 1] = id
        if state == 'delayed' then
          rcall('XADD', events, '*', 'event', 'delayed', 'jobId', id, 'delay', math.floor(tonumber(scores[n]) / 0x1000))
        end
      end
      rcall('XADD', KEYS[2], '*', 'event', 'removed', 'jobId', id, 'prev', state)
    end
  end
end

-- 3. Take the moved jobs out of the source state.
local nMoved = #moved
if nMoved > 0 then
  if isList then
    if nMoved == #ids and boundary == '' and listIdx[1] == -1 then
      -- The whole tail moved: cut it in one call.
      rcall('LTRIM', KEYS[1], 0, -(nMoved + 1))
    else
      -- Mark moved positions, then remove the marks scanning from the tail: one O(window) pass.
      for _, n in ipairs(moved) do rcall('LSET', KEYS[1], listIdx[n], tombstone) end
      rcall('LREM', KEYS[1], -nMoved, tombstone)
    end
  elseif nMoved == #ids then
    -- The whole window moved: it is exactly these ranks (nothing else ran meanwhile).
    rcall('ZREMRANGEBYRANK', KEYS[1], zStart, zStart + nMoved - 1)
  else
    local out = {}
    for _, n in ipairs(moved) do out[#out + 1] = ids[n] end
    chunked('ZREM', KEYS[1], out)
  end
end

-- 4. Add them to their destinations, then markers, id counters, event trimming, journal.
local function maxEvents(metaKey)
  local m = rcall('HGET', metaKey, 'opts.maxLenEvents')
  if not m then
    m = 10000
    rcall('HSET', metaKey, 'opts.maxLenEvents', m)
  end
  return m
end
local function pausedOrMaxed(metaKey, activeKey)
  local a = rcall('HMGET', metaKey, 'paused', 'concurrency')
  if a[1] then return true end
  if a[2] then return rcall('LLEN', activeKey) >= tonumber(a[2]) end
  return false
end

local movedOut = {}
for d = 1, #dests do
  movedOut[d] = perDest[d]
  if touched[d] then
    if isList then
      chunked('LPUSH', dkey(d, 1), waitPush[d])
    else
      if state == 'prioritized' then
        -- One INCRBY hands out the same counters as BullMQ's INCR per job would, in order.
        local pending = prioPending[d]
        local last = rcall('INCRBY', dkey(d, 7), #pending / 2)
        local counter = last - #pending / 2
        local z = zadds[d]
        for i = 1, #pending, 2 do
          counter = counter + 1
          z[#z + 1] = pending[i] * prioFactor + counter % prioFactor
          z[#z + 1] = pending[i + 1]
        end
      end
      local zkey = dkey(d, state == 'prioritized' and 2 or (state == 'delayed' and 3 or 4))
      chunked('ZADD', zkey, zadds[d])
    end
    if isList or state == 'prioritized' then
      if not pausedOrMaxed(dkey(d, 5), dkey(d, 10)) then rcall('ZADD', dkey(d, 8), 0, '0') end
    elseif state == 'delayed' then
      local first = rcall('ZRANGE', dkey(d, 3), 0, 0, 'WITHSCORES')
      if first[2] then rcall('ZADD', dkey(d, 8), math.floor(tonumber(first[2]) / 0x1000), '1') end
    end
    if maxNumeric[d] > 0 then
      local current = tonumber(rcall('GET', dkey(d, 6)) or '0') or 0
      if current < maxNumeric[d] then rcall('SET', dkey(d, 6), maxNumeric[d]) end
    end
    rcall('XTRIM', dkey(d, 9), 'MAXLEN', '~', maxEvents(dkey(d, 5)))
    rcall('HINCRBY', KEYS[4], 'moved:' .. cfg.names[d] .. ':' .. state, perDest[d])
  end
end
if nMoved > 0 then
  rcall('XTRIM', KEYS[2], 'MAXLEN', '~', maxEvents(KEYS[3]))
  rcall('HINCRBY', KEYS[4], 'moved', nMoved)
  local t = rcall('TIME')
  rcall('HSET', KEYS[4], 'updated', t[1] * 1000 + math.floor(t[2] / 1000))
end

-- The next boundary: the newest (for wait) / highest (for zsets) job that stayed in this window.
local nextBoundary = boundary
if #stays > 0 then nextBoundary = stays[#stays - 2] end
return { nMoved, nextBoundary, exhausted, stays, movedOut }
