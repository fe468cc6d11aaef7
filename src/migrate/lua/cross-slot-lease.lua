--[[
  queuectl migrate across Redis Cluster slots: the run's lease, so one process at a time works a
  run's flight area (a resumed run must never put back a job another live process is copying).

  KEYS[1] lease key
  ARGV[1] owner   ARGV[2] ms ("0" = release, only if we hold it)
  ARGV[3] holder we may take over ("" = only when free): a holder known to be gone
  Returns "" when ours now, else the current holder.
]]
local holder = redis.call('GET', KEYS[1])
if ARGV[2] == '0' then
  if holder == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return ''
end
if holder and holder ~= ARGV[1] and holder ~= ARGV[3] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
