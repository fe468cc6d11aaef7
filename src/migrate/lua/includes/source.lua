-- Shared by move-batch.lua and cross-slot-take.lua: the source side of a batch.
-- @include "util.lua"

-- ARGV[1..5] of both scripts: state, source key prefix, batch size, boundary, tombstone.
local function sourceArgs(argv)
  return argv[1], argv[2], tonumber(argv[3]), argv[4], argv[5]
end

--[[
  The window, oldest job first: the tail of `wait` (workers take from the right) or the lowest
  scores of a zset, just before the boundary (or, dry, at dryOffset from the oldest job).
  Returns ids, scores (zsets: as Redis formats them, kept as text so ZADD takes them back exactly;
  '' for wait; none when not withScores), listIdx (wait: negative index of each id), zStart (zsets:
  rank of the window's first job), exhausted (1 when the window reaches the end of the state).
]]
local function readWindow(key, isList, batch, boundary, dry, dryOffset, withScores)
  local ids, scores, listIdx = {}, {}, {}
  local zStart, exhausted = 0, 0
  if isList then
    local len = rcall('LLEN', key)
    local stop = len - 1
    if dry then
      stop = len - 1 - dryOffset
    elseif boundary ~= '' then
      local pos = rcall('LPOS', key, boundary, 'RANK', -1)
      -- A boundary taken meanwhile (an old worker, a removal) restarts the scan from the tail.
      if pos then stop = pos - 1 end
    end
    local start = stop - batch + 1
    if start < 0 then start = 0 end
    if stop < 0 then
      exhausted = 1
    else
      local window = rcall('LRANGE', key, start - len, stop - len)
      for i = #window, 1, -1 do
        ids[#ids + 1] = window[i]
        listIdx[#ids] = start + i - 1 - len
        scores[#ids] = ''
      end
      if start == 0 then exhausted = 1 end
    end
  else
    if dry then
      zStart = dryOffset
    elseif boundary ~= '' then
      local rank = rcall('ZRANK', key, boundary)
      if rank then zStart = rank + 1 end
    end
    if not withScores then
      -- Classifying needs no scores: skip formatting and parsing a thousand doubles.
      ids = rcall('ZRANGE', key, zStart, zStart + batch - 1)
    else
      local window = rcall('ZRANGE', key, zStart, zStart + batch - 1, 'WITHSCORES')
      for i = 1, #window, 2 do
        ids[#ids + 1] = window[i]
        scores[#ids] = window[i + 1]
      end
    end
    if #ids < batch then exhausted = 1 end
  end
  return ids, scores, listIdx, zStart, exhausted
end

--[[
  Takes the jobs at positions `moved` of the window out of the source state. byRank: the window's
  first rank, to cut a wholly moved zset window by rank (nothing else ran meanwhile, so it is
  exactly those ranks); false to remove by member.
]]
local function removeMoved(key, isList, ids, moved, listIdx, boundary, tombstone, byRank)
  local nMoved = #moved
  if nMoved == 0 then return end
  if isList then
    if nMoved == #ids and boundary == '' and listIdx[1] == -1 then
      -- The whole tail moved: cut it in one call.
      rcall('LTRIM', key, 0, -(nMoved + 1))
    else
      -- Mark moved positions, then remove the marks scanning from the tail: one O(window) pass.
      for _, n in ipairs(moved) do rcall('LSET', key, listIdx[n], tombstone) end
      rcall('LREM', key, -nMoved, tombstone)
    end
  elseif byRank and nMoved == #ids then
    rcall('ZREMRANGEBYRANK', key, byRank, byRank + nMoved - 1)
  else
    local out = {}
    for _, n in ipairs(moved) do out[#out + 1] = ids[n] end
    chunked('ZREM', key, out)
  end
end

-- The next boundary: the newest (wait) / highest (zsets) job that stayed in this window.
local function nextBoundaryOf(stays, boundary)
  if #stays > 0 then return stays[#stays - 2] end
  return boundary
end
