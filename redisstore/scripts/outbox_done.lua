-- outbox_done.lua: forget outbox entries the sweep has reconciled, unless the
-- session changed again since (its score moved past the cutoff).
-- KEYS: 1 outbox. ARGV: 1 cutoff ms, 2.. session ids.
local n = 0
local cutoff = tonumber(ARGV[1])
for i = 2, #ARGV do
  local sc = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if sc and tonumber(sc) <= cutoff then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
