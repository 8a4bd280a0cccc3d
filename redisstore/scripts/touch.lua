-- touch.lua: record activity on a live session; with an idle timeout, move
-- its expiry to min(absolute expiry, now + idle timeout): every index score
-- first, the hash's own expiry last.
-- KEYS: 1 session hash, 2 ix all, 3 ix user, 4 ix device, 5 ix users,
--       6 outbox, 7 tenant partner, 8 union all, 9 user union (ux: moved
--       with ix only when history is on)
-- ARGV: 1 sid, 2 user id, 3 device type (the hash's, as the caller read
--       them to name KEYS 3 and 4), 4 now ms, 5 ip ("" = keep),
--       6 app id ("" = none), 7 app name, 8 max apps, 9 "1" = history on
-- Returns {0} when the session is gone, {-1} when its user or device type
-- is not the caller's (the id was reused meanwhile: read again), else
-- {expiry ms, moved (0/1), partner}.
local f = redis.call('HMGET', KEYS[1], 'u', 'dt', 'it', 'ae', 'e', 'p')
if not f[1] then
  return {0}
end
if f[1] ~= ARGV[2] or (f[2] or 'unknown') ~= ARGV[3] then
  return {-1}
end
local sid = ARGV[1]
local now = tonumber(ARGV[4])
-- A session's partner is its tenant's; older hashes recorded it themselves.
local partner = redis.call('GET', KEYS[7]) or f[6] or ''
redis.call('HSET', KEYS[1], 'la', ARGV[4])
if ARGV[5] ~= '' then
  -- codec.go's fIP; a hash from before the short name drops the legacy one.
  redis.call('HSET', KEYS[1], 'i', ARGV[5])
  redis.call('HDEL', KEYS[1], 'ip')
end
if ARGV[6] ~= '' then
  local field = 'a:' .. ARGV[6]
  if redis.call('HEXISTS', KEYS[1], field) == 0 then
    -- Bound the apps kept per session: forget the least recently accessed.
    local all = redis.call('HGETALL', KEYS[1])
    local count, oldest, oldestAt = 0, nil, nil
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'a:' then
        count = count + 1
        local at = tonumber(string.match(all[i + 1], '^(%d+)|')) or 0
        if oldestAt == nil or at < oldestAt then
          oldest, oldestAt = all[i], at
        end
      end
    end
    if count >= tonumber(ARGV[8]) and oldest then
      redis.call('HDEL', KEYS[1], oldest)
    end
  end
  redis.call('HSET', KEYS[1], field, ARGV[4] .. '|' .. ARGV[7])
end
local exp = tonumber(f[5])
local moved = 0
local idle = tonumber(f[3] or '0') or 0
if idle > 0 then
  local newexp = math.min(tonumber(f[4] or f[5]), now + idle)
  if newexp ~= exp then
    exp = newexp
    moved = 1
    redis.call('ZADD', KEYS[2], 'XX', exp, sid)
    redis.call('ZADD', KEYS[3], 'XX', exp, sid)
    redis.call('ZADD', KEYS[4], 'XX', exp, sid)
    if ARGV[9] == '1' then
      redis.call('ZADD', KEYS[8], 'XX', exp, sid)
      redis.call('ZADD', KEYS[9], 'XX', exp, sid)
    end
    local top = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
    redis.call('ZADD', KEYS[5], 'XX', top[2], f[1])
    redis.call('ZADD', KEYS[6], now, sid)
    redis.call('HSET', KEYS[1], 'e', string.format('%.0f', exp))
    redis.call('PEXPIREAT', KEYS[1], exp)
  end
end
return {string.format('%.0f', exp), moved, partner}
