-- prune_users.lua: the sweep's pruning of user indexes, for users whose
-- latest expiry in ix users has passed: every member of their index has
-- expired, so the index goes (Redis deletes an emptied zset) and the user
-- leaves ix users. Checked here, atomically in the tenant slot: a user who
-- logged in again since the caller read ix users keeps the new session and
-- gets the latest expiry of the index instead.
-- With history on, the expired members also leave the user's union index
-- (ux = ix ∪ hx, list_history.lua).
-- KEYS: 1 ix users, 2.. the user index of each user, then (history on
--       only) the user union index of each user, in the same order.
-- ARGV: 1 now ms, 2.. user ids.
-- Returns the number of members removed from the user indexes and ix users.
local now = tonumber(ARGV[1])
local n = 0
local nu = #ARGV - 1
for i = 2, #ARGV do
  local idx = KEYS[i]
  n = n + pruneExpired(idx, KEYS[i + nu], ARGV[1])
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if #top > 0 and tonumber(top[2]) > now then
    redis.call('ZADD', KEYS[1], 'GT', top[2], ARGV[i])
  else
    local sc = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if sc and tonumber(sc) <= now then
      n = n + redis.call('ZREM', KEYS[1], ARGV[i])
    end
  end
end
return n
