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
  KEYS[6] source marker: not written here, but settle writes it when jobs go back, so a wrong
          type must stop the take before anything is parked
  KEYS[7] source id counter: read, handed to copy (destination counters are kept ahead of it)

  ARGV[1] state             ARGV[2] source key prefix "<prefix>:<queue>:"
  ARGV[3] batch size        ARGV[4] boundary (jobs at and past it stay; "" = none)
  ARGV[5] tombstone         ARGV[6] JSON routes { <job name>: <dest index> } ("*" = every name)
  ARGV[7] token (unique per call: a re-sent call returns the same jobs instead of taking more)
  ARGV[8] flight key prefix "<prefix>:queuectl:xslot:<run>:{<source tag>}:"
  ARGV[9] lease owner       ARGV[10] lease ms
  ARGV[11] "" to take; else a dry run at this offset: classify only, write nothing
  ARGV[12] take: JSON array of the destination queue names the route indexes point into;
           dry: "count" to answer counts per destination instead of one entry per job

  Returns { taken, boundary, exhausted, stays, jobs, badKeys (dry), source id counter (take) }
    stays  flat id, reason, name for jobs left in place (collision is decided by the destination)
    jobs   take: flat dest, blob: per destination one JSON array of jobs
                 [id, score, dedupId, dedupPttl, hash (flat), logs, dn (flat)], which the client
                 hands to cross-slot-copy.lua as is (no per-field round trip through the client)
           dry:  flat id, dest, dedupId, hasLogs ("1" or ""); counting: flat dest, count
  then, dry runs only: badKeys, flat key, found, wanted (see key-check.lua). Every key is checked
  before the first write; a take that meets a key of the wrong type parks nothing and fails with
  QUEUECTL_BADKEY (Redis keeps the writes of a script that fails midway).
]]
-- @include "includes/source.lua"
-- @include "includes/classify.lua"

local state, srcPrefix, batch, boundary, tombstone = sourceArgs(ARGV)
local routes = cjson.decode(ARGV[6])
local token = ARGV[7]
local flight = ARGV[8]
local dry = ARGV[11] ~= ''
local dryOffset = tonumber(ARGV[11]) or 0
-- A dry run that only counts (ARGV[12] "count"): jobs is flat dest, count instead of one entry per job.
local counting = dry and ARGV[12] == 'count'
local counts = {}
local isList = state == 'wait'
local bad = {}

-- The payload of one parked job, read back from the flight area.
local perDest, destOrder = {}, {}
local function payload(id, dest, score, deid, logs, hash)
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
  list[#list + 1] = { id, score, deid, pttl, hash or rcall('HGETALL', j), logs == 1 and rcall('LRANGE', j .. ':logs', 0, -1) or {}, dn }
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

-- The source's own keys and this run's in-flight journal, before anything is written.
expectType(bad, KEYS[1], isList and 'list' or 'zset')
expectType(bad, KEYS[2], 'stream')
expectMeta(bad, KEYS[3])
if KEYS[6] then expectType(bad, KEYS[6], 'zset') end
if KEYS[7] then expectCounter(bad, KEYS[7]) end
if not dry then
  expectType(bad, KEYS[4], 'hash')
  expectType(bad, KEYS[5], 'string')
end
if #bad > 0 then
  if dry then return { 0, boundary, 1, {}, {}, bad } end
  return refuseBadKeys(bad)
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
    return { #rec.ids, rec.b, rec.x, {}, blobs(), {}, KEYS[7] and rcall('GET', KEYS[7]) or '0' }
  end
end

-- 1. The window, oldest first (same rules as move-batch.lua; scores go into the journal).
local ids, scores, listIdx, _, exhausted = readWindow(KEYS[1], isList, batch, boundary, dry, dryOffset, true)

-- 2. Classify, reading only: which jobs stay and why, which will be parked (their keys checked).
local stays, moved, jobs = {}, {}, {}
local rec = { s = state, ids = {}, sc = {}, d = {}, e = {}, l = {} }
if not dry then rec.q = cjson.decode(ARGV[12]) end
local takers = {}         -- { n, d, deid, hasLogs } per job to park
local seen = {}
for n = 1, #ids do
  local id = ids[n]
  local jobKey = srcPrefix .. id
  -- A take ships the whole hash: one HGETALL answers the classification too.
  local f, hash
  if dry then f = jobFields(bad, jobKey) else f, hash = jobHash(bad, jobKey) end
  if f then
    local name = f[1]
    local d = routeOf(routes, name)
    local isFlow, hasLock, hasLogs = false, false, false
    if name then isFlow, hasLock, hasLogs = jobExtras(jobKey, true) end
    -- An id listed twice in the window: its second entry has no hash left once the first moved.
    local reason = seen[id] and 'missing-hash' or stayReason(id, f, d, isFlow, hasLock)
    seen[id] = true
    if reason then
      addStay(stays, id, reason, name)
    else
      local deid = ''
      if f[5] and checkedGet(bad, srcPrefix .. 'de:' .. f[5]) == id then
        deid = f[5]
        expectType(bad, srcPrefix .. 'dn:' .. deid, 'hash')
      end
      if hasLogs then expectType(bad, jobKey .. ':logs', 'list') end
      if counting then
        counts[d] = (counts[d] or 0) + 1
      elseif dry then
        jobs[#jobs + 1] = id
        jobs[#jobs + 1] = d
        jobs[#jobs + 1] = deid
        jobs[#jobs + 1] = hasLogs and '1' or ''
      elseif rcall('EXISTS', flight .. 'j:' .. id) == 1 then
        -- A parked job with this id is still unsettled (its id was re-used meanwhile): leave this one.
        addStay(stays, id, 'collision', name)
      else
        takers[#takers + 1] = { n, d, deid, hasLogs, hash }
      end
    end
  end
end
if counting then
  for d, n in pairs(counts) do
    jobs[#jobs + 1] = d
    jobs[#jobs + 1] = n
  end
end
if dry then return { 0, nextBoundaryOf(stays, boundary), exhausted, stays, jobs, bad } end
if #bad > 0 then return refuseBadKeys(bad) end

-- 3. Park: nothing below can fail on a key's type any more.
for _, t in ipairs(takers) do
  local n, d, deid, hasLogs, hash = t[1], t[2], t[3], t[4], t[5]
  local id = ids[n]
  local jobKey = srcPrefix .. id
  rcall('RENAME', jobKey, flight .. 'j:' .. id)
  if hasLogs then rcall('RENAME', jobKey .. ':logs', flight .. 'j:' .. id .. ':logs') end
  rcall('XADD', KEYS[2], '*', 'event', 'removed', 'jobId', id, 'prev', state)
  moved[#moved + 1] = n
  local k = #moved
  rec.ids[k], rec.sc[k], rec.d[k], rec.e[k], rec.l[k] = id, scores[n], d, deid, hasLogs and 1 or 0
  payload(id, d, scores[n], deid, rec.l[k], hash)
end

local nextBoundary = nextBoundaryOf(stays, boundary)

-- 4. Out of the source state (one LTRIM for a whole tail, else tombstones + one LREM).
local nMoved = #moved
if nMoved > 0 then
  removeMoved(KEYS[1], isList, ids, moved, listIdx, boundary, tombstone, false)
  local maxLen = rcall('HGET', KEYS[3], 'opts.maxLenEvents') or 10000
  rcall('XTRIM', KEYS[2], 'MAXLEN', '~', maxLen)
  rec.b, rec.x = nextBoundary, exhausted
  rcall('HSET', KEYS[4], '@:' .. token, cjson.encode(rec))
end
return { nMoved, nextBoundary, exhausted, stays, blobs(), {}, KEYS[7] and rcall('GET', KEYS[7]) or '0' }
