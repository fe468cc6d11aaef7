--[[
  Shared by retry-failed.lua and retry-add.lua (each defines rcall first): BullMQ's
  isQueuePausedOrMaxed (no marker while paused or at global concurrency), read with the events
  stream's MAXLEN in one HMGET of the queue's meta hash.
  Returns pausedOrMaxed, and opts.maxLenEvents (false when unset: each caller picks its default).
]]
local function queueState(metaKey, activeKey)
  local meta = rcall("HMGET", metaKey, "paused", "concurrency", "opts.maxLenEvents")
  local pausedOrMaxed = false
  if meta[1] then
    pausedOrMaxed = true
  elseif meta[2] then
    pausedOrMaxed = rcall("LLEN", activeKey) >= tonumber(meta[2])
  end
  return pausedOrMaxed, meta[3]
end
