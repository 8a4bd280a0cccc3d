-- prune_expired.lua: the sweep's pruning of a tenant index with history on:
-- the members past their expiry leave the index and its union index
-- (ux = ix ∪ hx, list_history.lua) together, so the union keeps exactly the
-- index's members and the ended ones. Members are read and removed in one
-- step: a session created again under an expired id keeps its entries.
-- KEYS: 1 tenant index (ix all), 2 its union index (ux all). ARGV: 1 now ms.
-- Returns the number of members removed from the index.
local n = 0
repeat
  local past = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
  if #past > 0 then
    n = n + redis.call('ZREM', KEYS[1], unpack(past))
    redis.call('ZREM', KEYS[2], unpack(past))
  end
until #past < 1000
return n
