--[[
  Shared by the migrate scripts: before its first write, a script checks that every key it will
  touch holds what BullMQ keeps there. Redis keeps the writes of a script that fails midway (no
  rollback), so a key of the wrong type met after a job left its source would strand that job.
  Each check appends key, found, wanted to a flat list `bad`; a script with anything in it writes
  nothing: a move refuses the call (refuseBadKeys), a dry run reports the list with its plan.
]]
-- @include "util.lua"

local function addBad(bad, key, found, want)
  bad[#bad + 1] = key
  bad[#bad + 1] = found
  bad[#bad + 1] = want
end

-- The key's type ('none' when missing); a type other than `want` is bad.
local function expectType(bad, key, want)
  local t = rcall('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then addBad(bad, key, t, want) end
  return t
end

-- GET that reports a key of another type instead of failing: the value, nil when missing, false
-- when the key is not a string (then it is in `bad`).
local function checkedGet(bad, key)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err then
    addBad(bad, key, rcall('TYPE', key)['ok'], 'string')
    return false
  end
  return v or nil
end

-- Quoted and cut short, for a message.
local function shown(v)
  if #v > 20 then v = string.sub(v, 1, 20) .. '…' end
  return '"' .. v .. '"'
end

-- An integer Redis can INCR and Lua can add to without losing digits (below 2^53).
local function isSafeInteger(v)
  return string.match(v, '^%-?%d+$') ~= nil and #v <= 15
end

-- A counter the scripts GET/SET or INCRBY (BullMQ's `id`, `pc`): missing, or an integer string.
local function expectCounter(bad, key)
  if expectType(bad, key, 'string') == 'string' then
    local v = rcall('GET', key)
    if not isSafeInteger(v) then addBad(bad, key, 'string ' .. shown(v), 'string holding an integer') end
  end
end

-- The journal hash's counters a batch will HINCRBY (HINCRBY needs integers): each missing or one.
local function expectCounterFields(bad, key, fields)
  local values = rcall('HMGET', key, unpack(fields))
  for i = 1, #fields do
    if values[i] and not isSafeInteger(values[i]) then addBad(bad, key, 'hash with ' .. fields[i] .. ' ' .. shown(values[i]), 'hash with integer counters') end
  end
end

-- A queue's meta hash: opts.maxLenEvents goes to XTRIM MAXLEN, concurrency is compared as a number.
local function expectMeta(bad, key)
  if expectType(bad, key, 'hash') == 'hash' then
    local m = rcall('HMGET', key, 'opts.maxLenEvents', 'concurrency')
    if m[1] and not string.match(m[1], '^%d+$') then addBad(bad, key, 'hash with opts.maxLenEvents ' .. shown(m[1]), 'hash with an integer opts.maxLenEvents') end
    if m[2] and not tonumber(m[2]) then addBad(bad, key, 'hash with concurrency ' .. shown(m[2]), 'hash with a numeric concurrency') end
  end
end

--[[
  The keys of one destination queue a batch adds to (dk: wait, prioritized, delayed, failed, meta,
  id, pc, marker, events, active). All ten, whatever the state: a `wait` BullMQ cannot use breaks
  the queue for the delayed jobs moved in too, once they are due.
]]
local function expectDestination(bad, dk)
  expectType(bad, dk[1], 'list')
  expectType(bad, dk[2], 'zset')
  expectType(bad, dk[3], 'zset')
  expectType(bad, dk[4], 'zset')
  expectMeta(bad, dk[5])
  expectCounter(bad, dk[6])
  expectCounter(bad, dk[7])
  expectType(bad, dk[8], 'zset')
  expectType(bad, dk[9], 'stream')
  expectType(bad, dk[10], 'list')
end

-- The refusal of a call that found bad keys and wrote nothing (the client names them: bad-keys.ts).
local function refuseBadKeys(bad)
  return redis.error_reply('QUEUECTL_BADKEY ' .. cjson.encode(bad))
end

-- Before a batch's first write: the destinations it adds jobs to (touched[d]) and, when it will
-- write (journalKey given), the journal's counters it will HINCRBY for them: moved, duplicates,
-- renamed and moved:<queue>:<state> for each of `states`.
local function expectBatchTargets(bad, touched, destKeysOf, names, journalKey, states)
  local counters = { 'moved', 'duplicates', 'renamed' }
  for d = 1, #names do
    if touched[d] then
      expectDestination(bad, destKeysOf(d))
      for _, st in ipairs(states) do counters[#counters + 1] = 'moved:' .. names[d] .. ':' .. st end
    end
  end
  if journalKey then expectCounterFields(bad, journalKey, counters) end
end
