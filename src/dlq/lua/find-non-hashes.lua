--[[
  Read-only, for the plan's preflight (src/dlq/preflight.ts): which of KEYS (job or item hashes
  of one queue, so one hash slot) exist with a type other than hash. One call checks thousands
  of keys that would otherwise cost a pipelined TYPE each.

  Returns a flat list: key, type, key, type, ...
]]
local found = {}
for i = 1, #KEYS do
  local t = redis.call("TYPE", KEYS[i])["ok"]
  if t ~= "none" and t ~= "hash" then
    found[#found + 1] = KEYS[i]
    found[#found + 1] = t
  end
end
return found
