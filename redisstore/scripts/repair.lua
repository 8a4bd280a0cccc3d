-- repair.lua: drop members of a tenant index whose session hash is gone. The
-- existence check and the removal are one step, so a session re-created under
-- the same id in between keeps its entry.
-- KEYS: 1 tenant index, 2.. the session hash of each id.
-- ARGV: 1.. session ids (KEYS[i + 1] is the hash of ARGV[i]).
local n = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
