--[[
  queuectl migrate across Redis Cluster slots, step 3 of 3 (runs in the SOURCE slot): settle one
  parked batch (one flight token), atomically.
  finish: the destination holds the copy, so delete the parked hash, its logs and the source's
          deduplication key (when it still names this job).
  return: the destination refused the job (collision, dedup conflict), or a resumed run finds it was
          never copied: put it back into its source state where it was (wait: at the oldest end, in
          order; zsets: same score), with its logs and a marker. If a producer re-used the id in the
          source meanwhile, the job stays parked ("stuck") and is reported, never overwritten.
  Every job of the batch is either finished or returned: the caller passes the ids to finish, the
  rest of the batch record is returned.

  KEYS[1] in-flight journal   KEYS[2..5] source wait, prioritized, delayed, failed
  KEYS[6] source marker       KEYS[7] source events   KEYS[8] source meta   KEYS[9] lease

  ARGV[1] source key prefix   ARGV[2] flight key prefix   ARGV[3] token
  ARGV[4] lease owner         ARGV[5] lease ms
  ARGV[6] boundary candidate of the batch's state ("" = none)
  ARGV[7] "1": a re-sent call replays the first one's result; "0" (recovery): always act
  ARGV[8..] ids to finish
  Returns { finished (flat dest queue name, count), returned, stuck ids, boundary }
  (records written before dest names were kept, without q, answer the dest index instead)
  Every key is checked before the first write: a settle that meets a key of the wrong type writes
  nothing and fails with QUEUECTL_BADKEY (the batch stays parked and journaled; a rerun settles it).
]]
-- @include "includes/key-check.lua"
local srcPrefix, flight, token = ARGV[1], ARGV[2], ARGV[3]
local bad = {}
expectType(bad, KEYS[1], 'hash')
expectType(bad, KEYS[9], 'string')
if #bad > 0 then return refuseBadKeys(bad) end
local holder = rcall('GET', KEYS[9])
if holder and holder ~= ARGV[4] then return redis.error_reply('QUEUECTL_BUSY ' .. holder) end
local boundary = ARGV[6]
if ARGV[7] == '1' then
  local done = rcall('HGET', KEYS[1], 'f:' .. token)
  if done then
    rcall('SET', KEYS[9], ARGV[4], 'PX', ARGV[5])
    local r = cjson.decode(done)
    return { r[1], r[2], r[3], r[4] }
  end
end
local raw = rcall('HGET', KEYS[1], '@:' .. token)
if not raw then
  rcall('SET', KEYS[9], ARGV[4], 'PX', ARGV[5])
  return { {}, 0, {}, boundary }
end
local rec = cjson.decode(raw)
local state = rec.s

local finishing = {}
for k = 8, #ARGV do finishing[ARGV[k]] = true end

-- Every key written below: the batch's source state, marker, events, meta; each job's dedup key.
local stateKey = ({ wait = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], failed = KEYS[5] })[state]
expectType(bad, stateKey, state == 'wait' and 'list' or 'zset')
expectType(bad, KEYS[6], 'zset')
expectType(bad, KEYS[7], 'stream')
expectMeta(bad, KEYS[8])
if state == 'delayed' then expectType(bad, KEYS[4], 'zset') end
local dedupHolder = {}
for k, id in ipairs(rec.ids) do
  if finishing[id] and rec.e[k] ~= '' then dedupHolder[k] = checkedGet(bad, srcPrefix .. 'de:' .. rec.e[k]) end
end
if #bad > 0 then return refuseBadKeys(bad) end
rcall('SET', KEYS[9], ARGV[4], 'PX', ARGV[5])

local perDest, back, stuck, gone = {}, {}, {}, {}
local keep = { s = state, ids = {}, sc = {}, d = {}, e = {}, l = {}, q = rec.q, b = rec.b, x = rec.x }
for k, id in ipairs(rec.ids) do
  local j = flight .. 'j:' .. id
  local deid = rec.e[k]
  if finishing[id] then
    gone[#gone + 1] = j
    if rec.l[k] == 1 then gone[#gone + 1] = j .. ':logs' end
    if deid ~= '' and dedupHolder[k] == id then
      rcall('DEL', srcPrefix .. 'de:' .. deid, srcPrefix .. 'dn:' .. deid)
    end
    perDest[rec.d[k]] = (perDest[rec.d[k]] or 0) + 1
  elseif rcall('EXISTS', srcPrefix .. id) == 1 then
    stuck[#stuck + 1] = id
    local n = #keep.ids + 1
    keep.ids[n], keep.sc[n], keep.d[n], keep.e[n], keep.l[n] = id, rec.sc[k], rec.d[k], deid, rec.l[k]
  elseif rcall('EXISTS', j) == 1 then
    -- RENAME fails on a missing key, after this script wrote: each is checked right before.
    rcall('RENAME', j, srcPrefix .. id)
    if rec.l[k] == 1 and rcall('EXISTS', j .. ':logs') == 1 then rcall('RENAME', j .. ':logs', srcPrefix .. id .. ':logs') end
    back[#back + 1] = k
  end
end

delAll(gone)

-- Back into the source state. wait: the batch was the oldest jobs, oldest first; pushing the
-- newest of them first onto the right end (where workers take) restores their order.
for b = #back, 1, -1 do
  local k = back[b]
  local id = rec.ids[k]
  if state == 'wait' then rcall('RPUSH', stateKey, id) else rcall('ZADD', stateKey, rec.sc[k], id) end
  rcall('XADD', KEYS[7], '*', 'event', state == 'delayed' and 'delayed' or (state == 'failed' and 'failed' or 'waiting'), 'jobId', id)
end
if #back > 0 then
  if (state == 'wait' or state == 'prioritized') and not rcall('HGET', KEYS[8], 'paused') then rcall('ZADD', KEYS[6], 0, '0') end
  if state == 'delayed' then
    local first = rcall('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    if first[2] then rcall('ZADD', KEYS[6], math.floor(tonumber(first[2]) / 0x1000), '1') end
  end
  -- The next window must start past the returned jobs, or it would take them again.
  local function pos(id)
    if state == 'wait' then
      local p = rcall('LPOS', stateKey, id, 'RANK', -1)
      return p and -p
    end
    return rcall('ZRANK', stateKey, id)
  end
  local bestPos = boundary ~= '' and pos(boundary) or nil
  for _, k in ipairs(back) do
    local p = pos(rec.ids[k])
    if p and (not bestPos or p > bestPos) then boundary, bestPos = rec.ids[k], p end
  end
end

local finished = {}
for d, count in pairs(perDest) do
  finished[#finished + 1] = rec.q and rec.q[d] or d
  finished[#finished + 1] = count
end
if #keep.ids > 0 then rcall('HSET', KEYS[1], '@:' .. token, cjson.encode(keep)) else rcall('HDEL', KEYS[1], '@:' .. token) end
local result = { finished, #back, stuck, boundary }
rcall('HSET', KEYS[1], 'f:' .. token, cjson.encode(result))
return result
