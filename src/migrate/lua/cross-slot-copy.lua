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
  then, probe: triples id, dedupId, _
        copy:  one JSON array of jobs [id, score, dedupId, dedupPttl, hash, logs, dn] (from take)
  Returns a flat list id, verdict: ok | collision | dedup-conflict
]]
local rcall = redis.call
local mode, state, dPrefix, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local copied = KEYS[11]
local prioFactor = 0x100000000

local i = 5
local forget = tonumber(ARGV[i])
i = i + 1
for _ = 1, forget do
  rcall('HDEL', copied, ARGV[i])
  i = i + 1
end

local function verdict(id, deid)
  if rcall('EXISTS', dPrefix .. id) == 1 then return 'collision' end
  if deid ~= '' then
    local holder = rcall('GET', dPrefix .. 'de:' .. deid)
    if holder and holder ~= id then return 'dedup-conflict' end
  end
  return 'ok'
end

local out = {}
if mode == 'probe' then
  while i <= #ARGV do
    out[#out + 1] = ARGV[i]
    out[#out + 1] = verdict(ARGV[i], ARGV[i + 1])
    i = i + 3
  end
  return out
end

local function chunked(cmd, key, list)
  for c = 1, #list, 1000 do rcall(cmd, key, unpack(list, c, math.min(c + 999, #list))) end
end

if mode == 'copy' then
  local done = rcall('HGET', copied, token)
  if done then return cjson.decode(done) end
end

local events = KEYS[9]
local push, zadd = {}, {}
local maxNumeric, nCopied = 0, 0
for _, job in ipairs(cjson.decode(ARGV[i])) do
  local id, score, deid, pttl, fields, logs, dn = job[1], job[2], job[3], job[4], job[5], job[6], job[7]
  local v = verdict(id, deid)
  out[#out + 1] = id
  out[#out + 1] = v
  if v == 'ok' then
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
    if string.match(id, '^%d+$') then
      local num = tonumber(id)
      if num > maxNumeric then maxNumeric = num end
    end
    rcall('XADD', events, '*', 'event', 'added', 'jobId', id, 'name', name)
    if state == 'wait' then
      push[#push + 1] = id
      rcall('XADD', events, '*', 'event', 'waiting', 'jobId', id)
    elseif state == 'prioritized' then
      local p = priority or math.floor(tonumber(score) / prioFactor)
      local counter = rcall('INCR', KEYS[7])
      zadd[#zadd + 1] = p * prioFactor + counter % prioFactor
      zadd[#zadd + 1] = id
      rcall('XADD', events, '*', 'event', 'waiting', 'jobId', id)
    else
      zadd[#zadd + 1] = score
      zadd[#zadd + 1] = id
      if state == 'delayed' then
        rcall('XADD', events, '*', 'event', 'delayed', 'jobId', id, 'delay', math.floor(tonumber(score) / 0x1000))
      end
    end
    nCopied = nCopied + 1
  end
end

if nCopied > 0 then
  if state == 'wait' then
    chunked('LPUSH', KEYS[1], push)
  else
    chunked('ZADD', KEYS[state == 'prioritized' and 2 or (state == 'delayed' and 3 or 4)], zadd)
  end
  local meta = rcall('HMGET', KEYS[5], 'paused', 'concurrency', 'opts.maxLenEvents')
  if state == 'wait' or state == 'prioritized' then
    local maxed = meta[2] and rcall('LLEN', KEYS[10]) >= tonumber(meta[2])
    if not meta[1] and not maxed then rcall('ZADD', KEYS[8], 0, '0') end
  elseif state == 'delayed' then
    local first = rcall('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    if first[2] then rcall('ZADD', KEYS[8], math.floor(tonumber(first[2]) / 0x1000), '1') end
  end
  if maxNumeric > 0 then
    local current = tonumber(rcall('GET', KEYS[6]) or '0') or 0
    if current < maxNumeric then rcall('SET', KEYS[6], maxNumeric) end
  end
  local maxLen = meta[3]
  if not maxLen then
    maxLen = 10000
    rcall('HSET', KEYS[5], 'opts.maxLenEvents', maxLen)
  end
  rcall('XTRIM', events, 'MAXLEN', '~', maxLen)
end
rcall('HSET', copied, token, cjson.encode(out))
return out
