-- repair.lua: drop members of a tenant index whose session hash is gone. The
-- existence check and the removal are one step, so a session re-created under
-- the same id in between keeps its entry. Such a member (expired, never
-- revoked: a revoked session leaves the index) also leaves the index's union
-- index (ux = ix ∪ hx, list_history.lua), which exists only with history on.
-- KEYS: 1 tenant index, 2 its union index,
--       3.. the session hash of each id.
-- ARGV: 1.. session ids (KEYS[i + 2] is the hash of ARGV[i]).
local n = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 2]) == 0 then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
end
return n
