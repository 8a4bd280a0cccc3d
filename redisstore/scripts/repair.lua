-- repair.lua: drop members of a tenant index whose session hash is gone. The
-- existence check and the removal are one step, so a session re-created under
-- the same id in between keeps its entry.
-- KEYS: 1 tenant index. ARGV: 1 tenant tag, 2.. session ids.
local n = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', 's:' .. ARGV[1] .. ':' .. ARGV[i]) == 0 then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
