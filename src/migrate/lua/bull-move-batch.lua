--[[
  queuectl migrate from a Bull 3.x/4.x queue: move one batch of jobs from one Bull source key into
  BullMQ 6.7.0 destination queues, atomically. Bull's layout is read as bull 4.16.5's own scripts
  write it (addJob-6.lua, includes/addJobWithPriority.lua, moveToActive-8.lua, job.js toData):
    wait / paused   lists, LPUSH (RPUSH for lifo), workers take from the right; a prioritized job
                    sits in the list at its place AND in the `priority` zset (score = priority)
    delayed         zset, score = due ms * 0x1000 + (id counter & 0xfff)
    failed          zset, score = finishedOn
    job hash        name (`__default__` when unnamed), data, opts (Bull's JSON), timestamp, delay,
                    priority, attemptsMade, processedOn, finishedOn, failedReason, stacktrace,
                    returnvalue, progress; `<id>:lock` while a worker holds it, `<id>:logs` list
  The destination side is move-batch.lua's (includes/destination.lua): same keys, markers, events,
  priority counter, id policy (numeric id taken → next id; same custom job → duplicate removed;
  another custom job → collision, stays).

  KEYS[1] source key: wait | paused list, or delayed | failed zset
  KEYS[2] source priority zset
  KEYS[3] journal hash
  then for destination d, ten keys from 3 + (d-1)*10 + 1 (destination.lua's order)
  then the source's id counter

  ARGV[1] source: wait | paused | delayed | failed
  ARGV[2] source key prefix "<prefix>:<queue>:"
  ARGV[3] batch size
  ARGV[4] boundary (the job that ended the previous window; jobs at and past it stay), "" = none
  ARGV[5] tombstone (a value no job id takes)
  ARGV[6] JSON { dests, names, routes, states: { <destination state>: true } }
  ARGV[7] "" to move; else a dry run classifying the window at this offset (writes nothing);
          "check": read no job, only check the keys every batch of this source touches (source,
          priority, journal, id, every destination) and return them in badKeys (a one-pass run's
          check before its first write; job-level keys are checked by each batch)
  ARGV[8] "retry" (ARGV[1] failed, ARGV[7] ""): queuectl dlq retry of the failed jobs ARGV[9..]
          instead of a window: each lands waiting (prioritized with a priority), translated as a
          move translates it, with its attempts reset as dlq's retry-failed.lua resets a BullMQ
          job's; an id no longer in the failed set stays (reason `not-failed`). The journal hash
          is then dlq's tally of Bull retries.

  Returns { moved, boundary, exhausted, stays, perDest, badKeys, renamed, duplicates, notes }:
    duplicates flat destination, id, name, destination state
    stays    flat id, reason, name, destination state ('' unknown); reason `outside` = its
             destination state is not in --states
    perDest  flat counts: for destination d, [wait, prioritized, delayed, failed] at 4*(d-1)+1..
    notes    flat option, count: Bull options BullMQ has no equal for (see translateOpts)
]]
-- @include "includes/source.lua"
-- @include "includes/key-check.lua"
-- @include "includes/destination.lua"

local source, srcPrefix, batch, boundary, tombstone = sourceArgs(ARGV)
local cfg = cjson.decode(ARGV[6])
local dests, routes, allowed = cfg.dests, cfg.routes, cfg.states
local isList = source == 'wait' or source == 'paused'
local dry = ARGV[7] ~= ''
local checkOnly = ARGV[7] == 'check'
local dryOffset = tonumber(ARGV[7]) or 0
local retry = ARGV[8] == 'retry' and source == 'failed' and not dry
local srcIdKey = KEYS[3 + #dests * 10 + 1]
local PRIORITY_LIMIT = 2097151 -- BullMQ's 2^21 - 1
local STATE_INDEX = { wait = 1, prioritized = 2, delayed = 3, failed = 4 }
local bad = {}

local function destKeys(d)
  local dk = {}
  for i = 1, 10 do dk[i] = KEYS[3 + (d - 1) * 10 + i] end
  return dk
end

local perDest = {}
for i = 1, #dests * 4 do perDest[i] = 0 end
local notes, noteOrder = {}, {}
local function note(option)
  if not notes[option] then noteOrder[#noteOrder + 1] = option; notes[option] = 0 end
  notes[option] = notes[option] + 1
end
local function flatNotes()
  local out = {}
  for _, k in ipairs(noteOrder) do out[#out + 1] = k; out[#out + 1] = notes[k] end
  return out
end

-- 0. The source's own keys, the journal and the id counter.
expectType(bad, KEYS[1], isList and 'list' or 'zset')
expectType(bad, KEYS[2], 'zset')
if not dry or checkOnly then expectType(bad, KEYS[3], 'hash') end
if srcIdKey then expectCounter(bad, srcIdKey) end
if checkOnly then
  for d = 1, #dests do expectDestination(bad, destKeys(d)) end
  return { 0, boundary, 1, {}, perDest, bad, {}, {}, {} }
end
if #bad > 0 then
  if dry then return { 0, boundary, 1, {}, perDest, bad, {}, {}, {} } end
  return refuseBadKeys(bad)
end

-- 1. The window, oldest job first (the right end of a list, the lowest scores of a zset).
local ids, scores, listIdx, zStart, exhausted
local notFailed = {}
if retry then
  -- The named jobs still in the failed set; removed by member (zStart false), not by rank.
  ids, scores, listIdx, zStart, exhausted = {}, {}, {}, false, 1
  local given = {}
  for i = 9, #ARGV do
    local id = ARGV[i]
    if not given[id] then
      given[id] = true
      local score = rcall('ZSCORE', KEYS[1], id)
      if score then ids[#ids + 1] = id; scores[#ids] = score else notFailed[#notFailed + 1] = id end
    end
  end
else
  ids, scores, listIdx, zStart, exhausted = readWindow(KEYS[1], isList, batch, boundary, dry, dryOffset, true)
end

--[[
  Bull's job options as BullMQ's. Same meaning, kept: attempts, backoff ({ type, delay }; a bare
  number is fixed), delay, timestamp, priority, lifo, jobId, removeOnComplete, removeOnFail (true,
  a count, or { age, count }), stackTraceLimit. Noted: exponential backoff (Bull waits
  (2^n - 1)·delay, BullMQ 2^(n-1)·delay: 1, 3, 7× against 1, 2, 4×), a custom backoff type (the
  BullMQ worker needs a backoffStrategy), a priority above BullMQ's limit (clamped). Dropped with a
  note: timeout (BullMQ has no per-job timeout), preventParsingData (BullMQ always parses data),
  debounce; other unknown keys are kept (BullMQ ignores them).
]]
local DROP = { timeout = true, preventParsingData = true, debounce = true }
-- Whether Bull's opts text needs no rewrite, judged on the text: Bull writes it with
-- JSON.stringify (no whitespace), so each key reads `"key":`. Any whitespace, an option to drop,
-- a bare-number backoff, a backoff type other than fixed/exponential, or a priority over the
-- limit takes the decoding path. Returns true, a note to count, or false.
local function plainOpts(raw, priority)
  if not raw or string.find(raw, '%s') or (tonumber(priority) or 0) > PRIORITY_LIMIT then return false end
  if string.find(raw, '"timeout":', 1, true) or string.find(raw, '"preventParsingData":', 1, true) or string.find(raw, '"debounce":', 1, true) then return false end
  if string.find(raw, '"backoff":', 1, true) then
    if not string.find(raw, '"backoff":{', 1, true) then return false end
    if string.find(raw, '"type":"exponential"', 1, true) then return 'backoff.exponential' end
    if not string.find(raw, '"type":"fixed"', 1, true) then return false end
  end
  return true
end

-- Bull's opts as BullMQ's, and the priority to write; nil when the job's hash already holds both.
local function translateOpts(raw, priority)
  local plain = plainOpts(raw, priority)
  if plain then
    if plain ~= true then note(plain) end
    return nil, tonumber(priority) or 0
  end
  local ok, opts = pcall(cjson.decode, raw or '{}')
  if not ok or type(opts) ~= 'table' then return raw, priority end
  local out = {}
  for k, v in pairs(opts) do
    if DROP[k] then
      if v ~= false and v ~= cjson.null then note(k) end
    elseif k == 'backoff' and type(v) == 'number' then
      out.backoff = { type = 'fixed', delay = v }
    else
      if k == 'backoff' and type(v) == 'table' and v.type then
        if v.type == 'exponential' then note('backoff.exponential') elseif v.type ~= 'fixed' then note('backoff.custom') end
      end
      out[k] = v
    end
  end
  local p = tonumber(priority) or 0
  if p > PRIORITY_LIMIT then
    note('priority')
    p = PRIORITY_LIMIT
    out.priority = p
  end
  return cjson.encode(out), p
end

-- 2. Classify every job, reading only.
local stays, movers, touched, seen = {}, {}, {}, {}
local function addStay(id, reason, name, dstate)
  stays[#stays + 1] = id
  stays[#stays + 1] = reason
  stays[#stays + 1] = name or ''
  stays[#stays + 1] = dstate or ''
end
for _, id in ipairs(notFailed) do addStay(id, 'not-failed', nil, 'wait') end
-- Which listed jobs are prioritized: one ZMSCORE for the window (Redis 6.2+), else one ZSCORE each.
local prioOf = {}
if isList and #ids > 0 then
  for i = 1, #ids, 1000 do
    local part = redis.pcall('ZMSCORE', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
    for k = 0, math.min(999, #ids - i) do
      prioOf[i + k] = part.err and rcall('ZSCORE', KEYS[2], ids[i + k]) or part[k + 1]
    end
  end
end
for n = 1, #ids do
  local id = ids[n]
  local jobKey = srcPrefix .. id
  local f = redis.pcall('HMGET', jobKey, 'name', 'opts', 'priority', 'attemptsMade', 'deid')
  if f.err then
    addBad(bad, jobKey, rcall('TYPE', jobKey)['ok'], 'hash')
  else
    local name = f[1]
    local dstate = source
    if isList then
      local prio = prioOf[n]
      dstate = (prio and tonumber(prio) and tonumber(prio) > 0) and 'prioritized' or 'wait'
    elseif retry then
      dstate = (tonumber(f[3]) or 0) > 0 and 'prioritized' or 'wait'
    end
    local d = name and (routes[name] or routes['*'])
    local repeatOpt = f[2] and string.find(f[2], '"repeat"', 1, true)
    local ex = rcall('EXISTS', jobKey .. ':lock', jobKey .. ':logs')
    local locked = ex > 0 and rcall('EXISTS', jobKey .. ':lock') == 1
    local hasLogs = ex > 0 and rcall('EXISTS', jobKey .. ':logs') == 1
    local reason
    if seen[id] or not name then reason = 'missing-hash'
    elseif string.sub(id, 1, 7) == 'repeat:' or repeatOpt then reason = 'scheduler'
    elseif not d then reason = 'unrouted'
    elseif not allowed[dstate] then reason = 'outside'
    elseif locked then reason = 'locked'
    end
    seen[id] = true
    if reason then
      addStay(id, reason, name, dstate)
    else
      if hasLogs then expectType(bad, jobKey .. ':logs', 'list') end
      movers[#movers + 1] = { n = n, d = d, dstate = dstate, f = f, hasLogs = hasLogs }
      touched[d] = true
    end
  end
end
-- The destinations jobs go to, and the journal's counters for every state a Bull job can land in.
expectBatchTargets(bad, touched, destKeys, cfg.names, (not dry and #movers > 0) and KEYS[3] or nil, { 'wait', 'prioritized', 'delayed', 'failed' })
if #bad > 0 then
  if dry then return { 0, boundary, 1, stays, perDest, bad, {}, {}, {} } end
  return refuseBadKeys(bad)
end

local renamed, dups = {}, {}

if dry then
  for _, m in ipairs(movers) do
    local id = ids[m.n]
    local ok = true
    if rcall('EXISTS', dests[m.d] .. id) == 1 then
      local outcome = collisionOutcome(id, m.f[1], dests[m.d], srcPrefix .. id)
      if outcome == 'renamed' then addFlat(renamed, m.d, id, '')
      elseif outcome == 'duplicate' then addFlat(dups, m.d, id, m.f[1]); dups[#dups + 1] = m.dstate; ok = false
      else addStay(id, 'collision', m.f[1], m.dstate); ok = false end
    end
    if ok then
      translateOpts(m.f[2], m.f[3])
      local i = 4 * (m.d - 1) + STATE_INDEX[m.dstate]
      perDest[i] = perDest[i] + 1
    end
  end
  local nb = #stays > 0 and stays[#stays - 3] or boundary
  return { 0, nb, exhausted, stays, perDest, {}, renamed, dups, flatNotes() }
end

-- 3. Move: nothing below can fail on a key's type any more.
local maxCandidate = {}
for _, m in ipairs(movers) do
  local num = numericId(ids[m.n])
  if num and num > (maxCandidate[m.d] or 0) then maxCandidate[m.d] = num end
end
raiseIdCounters(maxCandidate, srcIdKey, function(d) return destKeys(d)[6] end)
local function freshId(d) return freshIdIn(destKeys(d)[6], dests[d]) end

local moved, prioRemoved = {}, {}
local push, zadds, prioPending, maxNumeric = {}, {}, {}, {}
for d = 1, #dests do push[d] = {}; zadds[d] = {}; prioPending[d] = {}; maxNumeric[d] = 0 end
local nDups = 0

-- The job's hash is now destJobKey: BullMQ's field names and options, its logs, its place.
local function placeJob(m, newId)
  local n, d = m.n, m.d
  local oldKey = srcPrefix .. ids[n]
  local destJobKey = dests[d] .. newId
  local opts, priority = translateOpts(m.f[2], m.f[3])
  -- A job no Bull worker took has no attemptsMade, as a job BullMQ's addJob writes has no atm.
  local atm = m.f[4] or '0'
  if opts or not m.f[3] then
    rcall('HSET', destJobKey, 'opts', opts or m.f[2] or '{}', 'priority', priority, 'atm', atm, 'ats', atm)
  elseif m.f[4] then
    rcall('HSET', destJobKey, 'atm', atm, 'ats', atm)
  end
  -- Bull writes attemptsMade once a worker took the job; deid only for debounced jobs.
  if m.f[4] or m.f[5] then rcall('HDEL', destJobKey, 'attemptsMade', 'deid') end
  -- A retry starts over: attempts reset and the failure cleared, as retry-failed.lua does.
  if retry then rcall('HDEL', destJobKey, 'atm', 'ats', 'stc', 'failedReason', 'stacktrace', 'finishedOn', 'processedOn') end
  if m.hasLogs then rcall('RENAME', oldKey .. ':logs', destJobKey .. ':logs') end
  local num = numericId(newId)
  if num and num > maxNumeric[d] then maxNumeric[d] = num end
  moved[#moved + 1] = n
  if isList and m.dstate == 'prioritized' then prioRemoved[#prioRemoved + 1] = ids[n] end
  local events = destKeys(d)[9]
  addedEvent(events, newId, m.f[1])
  if m.dstate == 'wait' then
    push[d][#push[d] + 1] = newId
  elseif m.dstate == 'prioritized' then
    prioPending[d][#prioPending[d] + 1] = priority
    prioPending[d][#prioPending[d] + 1] = newId
  else
    zadds[d][#zadds[d] + 1] = scores[n]
    zadds[d][#zadds[d] + 1] = newId
  end
  stateEvent(events, m.dstate, newId, scores[n])
  local i = 4 * (d - 1) + STATE_INDEX[m.dstate]
  perDest[i] = perDest[i] + 1
end

for _, m in ipairs(movers) do
  local id = ids[m.n]
  local jobKey = srcPrefix .. id
  if rcall('RENAMENX', jobKey, dests[m.d] .. id) == 1 then
    placeJob(m, id)
  else
    local outcome = collisionOutcome(id, m.f[1], dests[m.d], jobKey)
    local newId = outcome == 'renamed' and freshId(m.d)
    if newId then
      rcall('RENAME', jobKey, dests[m.d] .. newId)
      placeJob(m, newId)
      addFlat(renamed, m.d, id, newId)
      rcall('HSET', KEYS[3], 'id:' .. cfg.names[m.d] .. ':' .. id, newId)
    elseif outcome == 'duplicate' then
      rcall('DEL', jobKey, jobKey .. ':logs')
      moved[#moved + 1] = m.n
      if isList and m.dstate == 'prioritized' then prioRemoved[#prioRemoved + 1] = id end
      nDups = nDups + 1
      addFlat(dups, m.d, id, m.f[1])
      dups[#dups + 1] = m.dstate
    else
      addStay(id, 'collision', m.f[1], m.dstate)
    end
  end
end

-- 4. Out of the source: its list or zset, and Bull's priority zset.
table.sort(moved)
removeMoved(KEYS[1], isList, ids, moved, listIdx, boundary, tombstone, zStart)
if #prioRemoved > 0 then chunked('ZREM', KEYS[2], prioRemoved) end

-- 5. Into the destinations, in their states; then the journal.
local nMoved = 0
for d = 1, #dests do
  local dk = destKeys(d)
  if #push[d] > 0 then finishDestination(dk, 'wait', push[d], {}, maxNumeric[d]) end
  if #prioPending[d] > 0 then
    local pending = prioPending[d]
    local last = rcall('INCRBY', dk[7], #pending / 2)
    local counter = last - #pending / 2
    local z = {}
    for i = 1, #pending, 2 do
      counter = counter + 1
      z[#z + 1] = pending[i] * prioFactor + counter % prioFactor
      z[#z + 1] = pending[i + 1]
    end
    finishDestination(dk, 'prioritized', {}, z, maxNumeric[d])
  end
  if #zadds[d] > 0 then finishDestination(dk, source, {}, zadds[d], maxNumeric[d]) end
  for s, i in pairs(STATE_INDEX) do
    local c = perDest[4 * (d - 1) + i]
    if c > 0 then
      rcall('HINCRBY', KEYS[3], 'moved:' .. cfg.names[d] .. ':' .. s, c)
      nMoved = nMoved + c
    end
  end
end
if nDups > 0 then rcall('HINCRBY', KEYS[3], 'duplicates', nDups) end
if #renamed > 0 then rcall('HINCRBY', KEYS[3], 'renamed', #renamed / 3) end
if #moved > 0 then
  rcall('HINCRBY', KEYS[3], 'moved', nMoved)
  local t = rcall('TIME')
  rcall('HSET', KEYS[3], 'updated', t[1] * 1000 + math.floor(t[2] / 1000))
end
local nb = #stays > 0 and stays[#stays - 3] or boundary
return { nMoved, nb, exhausted, stays, perDest, {}, renamed, dups, flatNotes() }
