--[[
  queuectl migrate --from <table source>, into BullMQ on Redis: one batch of outbox entries added
  to their queues, and the run's delivered mark moved, in one atomic step (table-dest.ts).

  Each job is added the way BullMQ 6.7.0's addStandardJob / addPrioritizedJob / addDelayedJob add
  one (the hash's name, data, opts, timestamp, delay, priority; `added` then `waiting` or `delayed`
  events; LPUSH to wait, or the prioritized score from `pc`, or the delayed score with its
  per-millisecond sequence; the marker unless paused or at global concurrency; one INCR of `id`
  per add), a whole batch at a time: the state pushes, marker, trim and counters once per queue
  (includes/destination.lua, shared with move-batch.lua). An id the queue already holds is left
  as it is, with BullMQ's `duplicated` event. The row's last error goes on the new job, and a
  failed or dead row's job goes to the failed set (as a job that failed once more would).

  The mark makes a second delivery of the same entries (a rerun after a crash before the outbox
  settled) write nothing, even when a worker has already run the job and removed it: entries at
  or below `hwm` are skipped, and `hwm` moves to the batch's last entry in the same script.

  KEYS[1]  the run's mark hash: hwm, queue:<name> counts
  then for queue q (1-based), ten keys from 1 + (q-1)*10 + 1:
           wait, prioritized, delayed, failed, meta, id, pc, marker, events, active
  ARGV[1]  now (ms): finishedOn of the jobs of failed and dead rows
  ARGV[2]  Q, then Q pairs: the queue's key prefix ("<prefix>:<queue>:"), its name
  then ENTRY fields per outbox entry, in outbox order:
           seq, queue index, job id, name, data (JSON), opts (JSON), timestamp, delay, priority,
           last error ('' for none), kind ('run' | 'failed'), attempts made
  Returns a flat list queue name, entries written there (duplicates included), for the entries
  past the mark. Every key is checked before the first write: a key of the wrong type refuses the
  whole batch with QUEUECTL_BADKEY (nothing written; bad-keys.ts names it).
]]
-- @include "includes/destination.lua"
-- @include "includes/key-check.lua"

local ENTRY = 12
local markKey = KEYS[1]
local now = ARGV[1]
local nQueues = tonumber(ARGV[2])
local first = 3 + nQueues * 2

local queues = {}
for q = 1, nQueues do
  local dk = {}
  for i = 1, 10 do dk[i] = KEYS[1 + (q - 1) * 10 + i] end
  queues[q] = { dk = dk, prefix = ARGV[1 + q * 2], name = ARGV[2 + q * 2], n = 0, maxNumeric = 0,
                push = {}, prioritized = {}, delayed = {}, failed = {} }
end

-- 1. Every key the batch writes, before anything is written.
local bad = {}
if expectType(bad, markKey, 'hash') == 'hash' then
  local hwm = rcall('HGET', markKey, 'hwm')
  if hwm and not isSafeInteger(hwm) then addBad(bad, markKey, 'hash with hwm ' .. shown(hwm), 'hash with an integer hwm') end
end
for q = 1, nQueues do expectDestination(bad, queues[q].dk) end
if #bad > 0 then return refuseBadKeys(bad) end

local hwm = tonumber(rcall('HGET', markKey, 'hwm') or '0')
local lastSeq = nil

-- Delayed scores as BullMQ's getDelayedScore gives them: due-ms·4096 plus a sequence within that
-- millisecond, one past the highest already there (the batch's own jobs included), at most 4095.
local lastDelayed = {}
local function delayedScore(delayedKey, dueMs)
  local minScore = dueMs * 0x1000
  local maxScore = minScore + 0x1000 - 1
  local last = lastDelayed[dueMs]
  if last == nil then
    local found = rcall('ZREVRANGEBYSCORE', delayedKey, maxScore, minScore, 'WITHSCORES', 'LIMIT', 0, 1)
    last = found[2] and tonumber(found[2]) or (minScore - 1)
  end
  local score = math.min(last + 1, maxScore)
  lastDelayed[dueMs] = score
  return score
end

-- 2. The jobs, in outbox order.
for i = first, #ARGV, ENTRY do
  local seq = tonumber(ARGV[i])
  if seq > hwm then
    if lastSeq == nil or seq > lastSeq then lastSeq = seq end
    local q = queues[tonumber(ARGV[i + 1])]
    local id, name, data, opts = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
    local timestamp, delay, priority = ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
    local reason, kind, atm = ARGV[i + 9], ARGV[i + 10], ARGV[i + 11]
    local events = q.dk[9]
    local jobKey = q.prefix .. id
    -- BullMQ's add scripts begin with opts.maxLenEvents (written with its default when missing).
    if q.n == 0 then q.maxEvents = maxEvents(q.dk[5]) end
    q.n = q.n + 1
    if rcall('EXISTS', jobKey) == 1 then
      -- handleDuplicatedJob: the job that holds the id stays as it is.
      rcall('XADD', events, 'MAXLEN', '~', q.maxEvents, '*', 'event', 'duplicated', 'jobId', id)
    else
      rcall('HSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', timestamp, 'delay', delay, 'priority', priority)
      if reason ~= '' then rcall('HSET', jobKey, 'failedReason', reason, 'stacktrace', cjson.encode({ reason })) end
      addedEvent(events, id, name)
      local num = numericId(id)
      if num and num > q.maxNumeric then q.maxNumeric = num end
      if kind == 'failed' then
        -- Added (as BullMQ would, due now), then failed once more: finished now, with its attempts.
        rcall('HSET', jobKey, 'finishedOn', now, 'atm', atm)
        stateEvent(events, 'wait', id)
        rcall('XADD', events, '*', 'event', 'failed', 'jobId', id, 'failedReason', reason, 'prev', 'waiting')
        local f = q.failed
        f[#f + 1] = now
        f[#f + 1] = id
      elseif tonumber(delay) > 0 then
        local score = delayedScore(q.dk[3], tonumber(timestamp) + tonumber(delay))
        local z = q.delayed
        z[#z + 1] = score
        z[#z + 1] = id
        stateEvent(events, 'delayed', id, score)
      elseif priority ~= '0' then
        -- The score's counter part comes from `pc` below, in this same order.
        local z = q.prioritized
        z[#z + 1] = tonumber(priority) * prioFactor
        z[#z + 1] = id
        stateEvent(events, 'prioritized', id)
      else
        q.push[#q.push + 1] = id
        stateEvent(events, 'wait', id)
      end
    end
  end
end
if lastSeq == nil then return {} end

-- 3. Per queue: BullMQ's one INCR of `id` per add, the states, the marker, the trim; then the mark.
local out = {}
for q = 1, nQueues do
  local Q = queues[q]
  if Q.n > 0 then
    rcall('INCRBY', Q.dk[6], Q.n)
    local z = Q.prioritized
    if #z > 0 then
      -- BullMQ's INCR of `pc` per prioritized job, as one INCRBY.
      local counter = rcall('INCRBY', Q.dk[7], #z / 2) - #z / 2
      for k = 1, #z, 2 do
        counter = counter + 1
        z[k] = z[k] + counter % prioFactor
      end
    end
    local states = { wait = Q.push, prioritized = z, delayed = Q.delayed, failed = Q.failed }
    for _, state in ipairs({ 'wait', 'prioritized', 'delayed', 'failed' }) do
      if #states[state] > 0 then finishDestination(Q.dk, state, Q.push, states[state], Q.maxNumeric) end
    end
    rcall('HINCRBY', markKey, 'queue:' .. Q.name, Q.n)
    out[#out + 1] = Q.name
    out[#out + 1] = Q.n
  end
end
rcall('HSET', markKey, 'hwm', lastSeq)
return out
