-- lib_prune.lua: prepended to the scripts that prune a tenant index (create,
-- the sweep's prune_expired and prune_users, list_history).
--
-- pruneExpired removes the members of a tenant index whose score (expires_at
-- ms) is at most now and returns how many left it. With union set (history
-- on: ux = ix ∪ hx, list_history.lua) the same members leave the union index
-- too, read and removed 1000 at a time in this one step, so a session
-- created again under an expired id keeps its entries; without it, one
-- ZREMRANGEBYSCORE.
local function pruneExpired(index, union, now)
  if not union then
    return redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  end
  local n = 0
  repeat
    local past = redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, 1000)
    if #past > 0 then
      n = n + redis.call('ZREM', index, unpack(past))
      redis.call('ZREM', union, unpack(past))
    end
  until #past < 1000
  return n
end
