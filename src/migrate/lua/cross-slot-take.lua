--[[
  queuectl migrate across Redis Cluster slots, step 1 of 3 (runs in the SOURCE slot): take up to a
  batch of jobs out of one source state and park them in this run's flight area, atomically.

  A parked job is in no state of the source and its hash no longer sits under the queue's prefix
  (RENAMEd to <flight>j:<id>), so no worker, no BullMQ script (removeOrphanedJobs deletes hashes
  that are in no state) and no producer re-using the id can touch it. The in-flight journal records
  where it came from (state, score, order) and where it goes, so a crash at any later step resumes.
  The deduplication key stays in the source until the job is settled: producers stay deduplicated.

  KEYS[1] source state key (wait list, or prioritized/delayed/failed zset)
  KEYS[2] source events stream
  KEYS[3] source meta
  KEYS[4] in-flight journal hash: "@:<token>" -> JSON of the batch { s: state, ids, sc: scores,
          d: dest indexes into q, q: dest queue NAMES, e: dedup ids, l: 1 if it has logs }
          (one record per batch, not per job). q makes the record self-describing: a rerun maps
          d through q, never through the current topology's order, which may have been edited.
  KEYS[5] lease: only the run's owner may take (one process per run)

  ARGV[1] state             ARGV[2] source key prefix "<prefix>:<queue>:"
  ARGV[3] batch size        ARGV[4] boundary (jobs at and past it stay; "" = none)
  ARGV[5] tombstone         ARGV[6] JSON routes { <job name>: <dest index> } ("*" = every name)
  ARGV[7] token (unique per call: a re-sent call returns the same jobs instead of taking more)
  ARGV[8] flight key prefix "<prefix>:queuectl:xslot:<run>:{<source tag>}:"
  ARGV[9] lease owner       ARGV[10] lease ms
  ARGV[11] "" to take; else a dry run at this offset: classify only, write nothing
  ARGV[12] JSON array of the destination queue names the route indexes point into (take only)

  Returns { taken, boundary, exhausted, stays, jobs }
    stays  flat id, reason, name for jobs left in place (collision is decided by the destination)
    jobs   take: flat dest, blob: per destination one JSON array of jobs
                 [id, score, dedupId, dedupPttl, hash (flat), logs, dn (flat)], which the client
                 hands to cross-slot-copy.lua as is (no per-field round trip through the client)
           dry:  flat id, dest, dedupId
]]
local rcall = redis.call
local state = ARGV[1]
local srcPrefix = ARGV[2]
local batch = tonumber(ARGV[3])
local boundary = ARGV[4]
local tombstone = ARGV[5]
local routes = cjson.decode(ARGV[6])
local token = ARGV[7]
local flight = ARGV[8]
local dry = ARGV[11] ~= ''
local dryOffset = tonumber(ARGV[11]) or 0
local isList = state == 'wait'

-- The payload of one parked job, read back from the flight area.
local perDest, destOrder = {}, {}
local function payload(id, dest, score, deid, logs)
  local j = flight .. 'j:' .. id
  local pttl, dn = -2, {}
  if deid ~= '' then
    pttl = rcall('PTTL', srcPrefix .. 'de:' .. deid)
    dn = rcall('HGETALL', srcPrefix .. 'dn:' .. deid)
  end
  if not perDest[dest] then
    perDest[dest] = {}
    destOrder[#destOrder + 1] = dest
  end
  local list = perDest[dest]
  list[#list + 1] = { id, score, deid, pttl, rcall('HGETALL', j), logs == 1 and rcall('LRANGE', j .. ':logs', 0, -1) or {}, dn }
end
-- Scores stay strings: cjson would round numbers to 14 digits.
local function blobs()
  local out = {}
  for _, d in ipairs(destOrder) do
    out[#out + 1] = d
    out[#out + 1] = cjson.encode(perDest[d])
  end
  return out
end

if not dry then
  local holder = rcall('GET', KEYS[5])
  if holder and holder ~= ARGV[9] then return redis.error_reply('QUEUECTL_BUSY ' .. holder) end
  rcall('SET', KEYS[5], ARGV[9], 'PX', ARGV[10])
  -- A re-sent call (the reply was lost with the connection): answer what the first one took.
  local prev = rcall('HGET', KEYS[4], '@:' .. token)
  if prev then
    local rec = cjson.decode(prev)
    for k, id in ipairs(rec.ids) do payload(id, rec.d[k], rec.sc[k], rec.e[k], rec.l[k]) end
    return { #rec.ids, rec.b, rec.x, {}, blobs() }
  end
end

-- 1. The window, oldest first (same rules as move-batch.lua).
local ids, scores, listIdx = {}, {}, {}
local exhausted = 0
if isList then
  local len = rcall('LLEN', KEYS[1])
  local stop = len - 1
  if dry then
    stop = len - 1 - dryOffset
  elseif boundary ~= '' then
    local pos = rcall('LPOS', KEYS[1], boundary, 'RANK', -1)
    if pos then stop = pos - 1 end
  end
  local start = math.max(0, stop - batch + 1)
  if stop < 0 then
    exhausted = 1
  else
    local window = rcall('LRANGE', KEYS[1], start - len, stop - len)
    for i = #window, 1, -1 do
      ids[#ids + 1] = window[i]
      listIdx[#ids] = start + i - 1 - len
      scores[#ids] = ''
    end
    if start == 0 then exhausted = 1 end
  end
else
  local start = 0
  if dry then
    start = dryOffset
  elseif boundary ~= '' then
    local rank = rcall('ZRANK', KEYS[1], boundary)
    if rank then start = rank + 1 end
  end
  local window = rcall('ZRANGE', KEYS[1], start, start + batch - 1, 'WITHSCORES')
  for i = 1, #window, 2 do
    ids[#ids + 1] = window[i]
    scores[#ids] = window[i + 1]
  end
  if #ids < batch then exhausted = 1 end
end

-- 2. Classify; park the movable ones.
local stays, moved, jobs = {}, {}, {}
local rec = { s = state, ids = {}, sc = {}, d = {}, e = {}, l = {} }
if not dry then rec.q = cjson.decode(ARGV[12]) end
local function stay(id, reason, name)
  stays[#stays + 1] = id
  stays[#stays + 1] = reason
  stays[#stays + 1] = name or ''
end
for n = 1, #ids do
  local id = ids[n]
  local jobKey = srcPrefix .. id
  local f = rcall('HMGET', jobKey, 'name', 'parentKey', 'parent', 'rjk', 'deid')
  local name = f[1]
  local d = name and (routes[name] or routes['*'])
  local isFlow, hasLock, hasLogs = false, false, false
  if name then
    -- A flow parent keeps :dependencies while children are pending and :processed / :failed /
    -- :unsuccessful once some finished (its :dependencies may be gone): any of them keeps it here.
    local extras = rcall('EXISTS', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful', jobKey .. ':lock', jobKey .. ':logs')
    if extras > 0 then
      isFlow = rcall('EXISTS', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful') > 0
      hasLock = rcall('EXISTS', jobKey .. ':lock') == 1
      hasLogs = rcall('EXISTS', jobKey .. ':logs') == 1
    end
  end
  if not name then
    stay(id, 'missing-hash', '')
  elseif f[2] or f[3] or isFlow then -- parentKey, parent
    stay(id, 'flow', name)
  elseif f[4] or string.sub(id, 1, 7) == 'repeat:' then
    stay(id, 'scheduler', name)
  elseif not d then
    stay(id, 'unrouted', name)
  elseif hasLock then
    stay(id, 'locked', name)
  else
    local deid = ''
    if f[5] and rcall('GET', srcPrefix .. 'de:' .. f[5]) == id then deid = f[5] end
    if dry then
      jobs[#jobs + 1] = id
      jobs[#jobs + 1] = d
      jobs[#jobs + 1] = deid
    elseif rcall('RENAMENX', jobKey, flight .. 'j:' .. id) == 0 then
      -- A parked job with this id is still unsettled (its id was re-used meanwhile): leave this one.
      stay(id, 'collision', name)
    else
      if hasLogs then rcall('RENAME', jobKey .. ':logs', flight .. 'j:' .. id .. ':logs') end
      rcall('XADD', KEYS[2], '*', 'event', 'removed', 'jobId', id, 'prev', state)
      moved[#moved + 1] = n
      local k = #moved
      rec.ids[k], rec.sc[k], rec.d[k], rec.e[k], rec.l[k] = id, scores[n], d, deid, hasLogs and 1 or 0
      payload(id, d, scores[n], deid, rec.l[k])
    end
  end
end

local nextBoundary = boundary
if #stays > 0 then nextBoundary = stays[#stays - 2] end
if dry then return { 0, nextBoundary, exhausted, stays, jobs } end

-- 3. Out of the source state (one LTRIM for a whole tail, else tombstones + one LREM).
local nMoved = #moved
if nMoved > 0 then
  if isList then
    if nMoved == #ids and boundary == '' and listIdx[1] == -1 then
      rcall('LTRIM', KEYS[1], 0, -(nMoved + 1))
    else
      for _, n in ipairs(moved) do rcall('LSET', KEYS[1], listIdx[n], tombstone) end
      rcall('LREM', KEYS[1], -nMoved, tombstone)
    end
  else
    local out = {}
    for _, n in ipairs(moved) do out[#out + 1] = ids[n] end
    for i = 1, #out, 1000 do rcall('ZREM', KEYS[1], unpack(out, i, math.min(i + 999, #out))) end
  end
  local maxLen = rcall('HGET', KEYS[3], 'opts.maxLenEvents') or 10000
  rcall('XTRIM', KEYS[2], 'MAXLEN', '~', maxLen)
  rec.b, rec.x = nextBoundary, exhausted
  rcall('HSET', KEYS[4], '@:' .. token, cjson.encode(rec))
end
return { nMoved, nextBoundary, exhausted, stays, blobs() }
