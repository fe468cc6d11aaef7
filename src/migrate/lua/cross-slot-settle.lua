--[[
  queuectl migrate across Redis Cluster slots, step 3 of 3 (runs in the SOURCE slot): settle parked
  jobs, atomically.
  finish: the destination holds the copy, so delete the parked hash, its logs and the source's
          deduplication key (when it still names this job), and clear the journal entry.
  return: the destination refused the job (collision, dedup conflict) or a resumed run finds it was
          never copied: put it back into its source state where it was (wait: at the oldest end, in
          order; zsets: same score), with its logs and marker. If a producer re-used the id in the
          source meanwhile, the job stays parked ("stuck") and is reported, never overwritten.

  KEYS[1] in-flight journal   KEYS[2..5] source wait, prioritized, delayed, failed
  KEYS[6] source marker       KEYS[7] source events   KEYS[8] source meta   KEYS[9] lease

  ARGV[1] source key prefix   ARGV[2] flight key prefix   ARGV[3] token ("" = any flight: recovery)
  ARGV[4] lease owner         ARGV[5] lease ms
  ARGV[6] boundary candidate  ARGV[7] state of the batch ("" in recovery)
  ARGV[8] F, then F ids to finish, then ids to return
  Returns { finished (flat dest, count), returned, stuck ids, boundary }
]]
local rcall = redis.call
local srcPrefix, flight, token = ARGV[1], ARGV[2], ARGV[3]
local holder = rcall('GET', KEYS[9])
if holder and holder ~= ARGV[4] then return redis.error_reply('QUEUECTL_BUSY ' .. holder) end
rcall('SET', KEYS[9], ARGV[4], 'PX', ARGV[5])
if token ~= '' then
  -- A re-sent call: answer what the first one did.
  local rec = rcall('HGET', KEYS[1], 'f:' .. token)
  if rec then
    local r = cjson.decode(rec)
    return { r[1], r[2], r[3], r[4] }
  end
end

local function entry(id)
  local e = rcall('HGET', KEYS[1], id)
  if not e then return nil end
  local st, sc, d, t, n, deid = string.match(e, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if token ~= '' and t ~= token then return nil end
  return { state = st, score = sc, dest = tonumber(d), n = tonumber(n), deid = deid }
end

local nFinish = tonumber(ARGV[8])
local perDest, finishedList = {}, {}
for k = 9, 8 + nFinish do
  local id = ARGV[k]
  local e = entry(id)
  if e then
    local j = flight .. 'j:' .. id
    rcall('DEL', j, j .. ':logs')
    if e.deid ~= '' and rcall('GET', srcPrefix .. 'de:' .. e.deid) == id then
      rcall('DEL', srcPrefix .. 'de:' .. e.deid, srcPrefix .. 'dn:' .. e.deid)
    end
    rcall('HDEL', KEYS[1], id)
    perDest[e.dest] = (perDest[e.dest] or 0) + 1
  end
end
for d, count in pairs(perDest) do
  finishedList[#finishedList + 1] = d
  finishedList[#finishedList + 1] = count
end

local stateKey = { wait = KEYS[2], prioritized = KEYS[3], delayed = KEYS[4], failed = KEYS[5] }
local back, stuck = {}, {}
for k = 9 + nFinish, #ARGV do
  local id = ARGV[k]
  local e = entry(id)
  if e then
    local j = flight .. 'j:' .. id
    if rcall('EXISTS', srcPrefix .. id) == 1 then
      stuck[#stuck + 1] = id
    else
      rcall('RENAME', j, srcPrefix .. id)
      if rcall('EXISTS', j .. ':logs') == 1 then rcall('RENAME', j .. ':logs', srcPrefix .. id .. ':logs') end
      rcall('HDEL', KEYS[1], id)
      e.id = id
      back[#back + 1] = e
    end
  end
end

-- Oldest first back to the right end of wait: push the newest of them first.
table.sort(back, function(a, b) return a.n > b.n end)
local wake, due = false, nil
for _, e in ipairs(back) do
  if e.state == 'wait' then
    rcall('RPUSH', KEYS[2], e.id)
    wake = true
  else
    rcall('ZADD', stateKey[e.state], e.score, e.id)
    if e.state == 'prioritized' then wake = true end
    if e.state == 'delayed' then
      local t = math.floor(tonumber(e.score) / 0x1000)
      if not due or t < due then due = t end
    end
  end
  rcall('XADD', KEYS[7], '*', 'event', e.state == 'delayed' and 'delayed' or (e.state == 'failed' and 'failed' or 'waiting'), 'jobId', e.id)
end
if wake and not rcall('HGET', KEYS[8], 'paused') then rcall('ZADD', KEYS[6], 0, '0') end
if due then
  local first = rcall('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if first[2] then rcall('ZADD', KEYS[6], math.floor(tonumber(first[2]) / 0x1000), '1') end
end

-- The next window must start past the returned jobs, or it would take them again.
local boundary, state = ARGV[6], ARGV[7]
if state ~= '' and #back > 0 then
  local best, bestPos = boundary, nil
  local function pos(id)
    if state == 'wait' then
      local p = rcall('LPOS', KEYS[2], id, 'RANK', -1)
      return p and -p
    end
    return rcall('ZRANK', stateKey[state], id)
  end
  if boundary ~= '' then bestPos = pos(boundary) end
  for _, e in ipairs(back) do
    if e.state == state then
      local p = pos(e.id)
      if p and (not bestPos or p > bestPos) then best, bestPos = e.id, p end
    end
  end
  boundary = best
end

local result = { finishedList, #back, stuck, boundary }
if token ~= '' then
  rcall('HSET', KEYS[1], 'f:' .. token, cjson.encode(result))
  rcall('HDEL', KEYS[1], '@:' .. token)
end
return result
