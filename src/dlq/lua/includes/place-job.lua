--[[
  Shared by retry-failed.lua and retry-add.lua: puts a job back in the state kind it had, as
  BullMQ adds it. A priority > 0 goes to `prioritized` (score from the queue's `pc` counter), a
  lifo job to the head of `wait`, the others are collected in `fifo` and pushed by flushFifo.
]]
local function placeJob(prioritizedKey, pcKey, waitKey, fifo, id, priority, lifo)
  if priority > 0 then
    local counter = rcall("INCR", pcKey)
    rcall("ZADD", prioritizedKey, priority * 0x100000000 + counter % 0x100000000, id)
  elseif lifo then
    rcall("RPUSH", waitKey, id)
  else
    fifo[#fifo + 1] = id
  end
end

-- Oldest first, so the oldest ends up at the tail, where workers take from.
local function flushFifo(waitKey, fifo)
  for from = 1, #fifo, 5000 do
    rcall("LPUSH", waitKey, unpack(fifo, from, math.min(from + 4999, #fifo)))
  end
end

-- The job's own priority and lifo flag, from its hash fields (priority, opts).
local function kindOf(priority, opts)
  return tonumber(priority) or 0, opts ~= nil and opts ~= false and string.find(opts, '"lifo":true', 1, true) ~= nil
end
