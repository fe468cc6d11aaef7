--[[
  After the --live canary (due in ten years) is removed, the queue's delay marker may still hold
  the canary's due time: BullMQ's removeJob does not touch the marker. Put it back to what BullMQ
  itself would write (addDelayMarkerIfNeeded): the next delayed job's due time, or no "1" member
  at all. Atomic, so a producer adding a delayed job at the same moment cannot lose its marker.

  KEYS[1] marker zset, KEYS[2] delayed zset
  ARGV[1] earliest due time (ms) any canary of this run can have
  Returns 1 when the marker was rewritten, 0 when it was not the canary's.
]]
local rcall = redis.call
local score = rcall("ZSCORE", KEYS[1], "1")
if not score or tonumber(score) < tonumber(ARGV[1]) then return 0 end
local first = rcall("ZRANGE", KEYS[2], 0, 0, "WITHSCORES")
if first[2] then
  rcall("ZADD", KEYS[1], tonumber(first[2]) / 0x1000, "1")
else
  rcall("ZREM", KEYS[1], "1")
end
return 1
