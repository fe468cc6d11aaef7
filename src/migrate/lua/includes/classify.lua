-- Shared by move-batch.lua and cross-slot-take.lua: which jobs stay in the source, and why.
-- @include "key-check.lua"

-- name, parentKey, parent, rjk (job scheduler), deid (deduplication id) of one job hash; false
-- (and the key in `bad`) when the key is not a hash.
local function jobFields(bad, jobKey)
  local f = redis.pcall('HMGET', jobKey, 'name', 'parentKey', 'parent', 'rjk', 'deid')
  if f.err then
    addBad(bad, jobKey, rcall('TYPE', jobKey)['ok'], 'hash')
    return false
  end
  return f
end

-- jobFields' five fields, by name, from a whole hash.
local FIELD_AT = { name = 1, parentKey = 2, parent = 3, rjk = 4, deid = 5 }

-- The whole job hash (flat) and jobFields' five fields read from it, for a caller that ships the
-- hash anyway (one read instead of two); false (and the key in `bad`) when the key is not a hash.
local function jobHash(bad, jobKey)
  local flat = redis.pcall('HGETALL', jobKey)
  if flat.err then
    addBad(bad, jobKey, rcall('TYPE', jobKey)['ok'], 'hash')
    return false
  end
  local f = {}
  for i = 1, #flat, 2 do
    local at = FIELD_AT[flat[i]]
    if at then f[at] = flat[i + 1] end
  end
  return f, flat
end

-- The destination index a job name routes to ("*" routes every name), or nil.
local function routeOf(routes, name)
  return name and (routes[name] or routes['*'])
end

--[[
  Keys beside a job hash that keep it in place: a flow parent has :dependencies while children are
  pending and :processed / :failed / :unsuccessful once some finished (its :dependencies may be
  gone by then), so any of the four makes it a flow job; a :lock means a worker holds it.
  One call answers "no flow keys, no lock, no logs" for the common job; ask again only if not.
  Returns isFlow, hasLock, hasLogs (false unless wantLogs).
]]
local function jobExtras(jobKey, wantLogs)
  local isFlow, hasLock, hasLogs = false, false, false
  local extras = rcall('EXISTS', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful', jobKey .. ':lock', jobKey .. ':logs')
  if extras > 0 then
    isFlow = rcall('EXISTS', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful') > 0
    hasLock = rcall('EXISTS', jobKey .. ':lock') == 1
    hasLogs = wantLogs and rcall('EXISTS', jobKey .. ':logs') == 1
  end
  return isFlow, hasLock, hasLogs
end

-- Why a job stays (f from jobFields, d from routeOf), or nil when it may move.
local function stayReason(id, f, d, isFlow, hasLock)
  if not f[1] then return 'missing-hash' end
  if f[2] or f[3] or isFlow then return 'flow' end -- parentKey, parent
  if f[4] or (string.byte(id, 1) == 114 and string.sub(id, 1, 7) == 'repeat:') then return 'scheduler' end -- 114: 'r'
  if not d then return 'unrouted' end
  if hasLock then return 'locked' end
  return nil
end

-- Appends one job left in place to the flat stays list: id, reason, name.
local function addStay(stays, id, reason, name)
  stays[#stays + 1] = id
  stays[#stays + 1] = reason
  stays[#stays + 1] = name or ''
end
