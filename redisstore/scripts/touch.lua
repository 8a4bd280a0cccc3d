-- touch.lua: record activity on a live session; with an idle timeout, move
-- its expiry to min(absolute expiry, now + idle timeout): every index score
-- first, the hash's own expiry last.
-- KEYS: 1 session hash, 2 ix all, 3 ix users, 4 outbox, 5 tenant partner
-- ARGV: 1 tenant tag, 2 sid, 3 now ms, 4 ip ("" = keep), 5 app id ("" = none),
--       6 app name, 7 max apps
-- Returns {0} when the session is gone, else {expiry ms, moved (0/1), partner}.
local f = redis.call('HMGET', KEYS[1], 'u', 'dt', 'it', 'ae', 'e', 'p')
if not f[1] then
  return {0}
end
local tag = ARGV[1]
local sid = ARGV[2]
local now = tonumber(ARGV[3])
local uidx = 'ix:' .. tag .. ':u:' .. f[1]
-- A session's partner is its tenant's; older hashes recorded it themselves.
local partner = redis.call('GET', KEYS[5]) or f[6] or ''
redis.call('HSET', KEYS[1], 'la', ARGV[3])
if ARGV[4] ~= '' then
  -- codec.go's fIP; a hash from before the short name drops the legacy one.
  redis.call('HSET', KEYS[1], 'i', ARGV[4])
  redis.call('HDEL', KEYS[1], 'ip')
end
if ARGV[5] ~= '' then
  local field = 'a:' .. ARGV[5]
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
    if count >= tonumber(ARGV[7]) and oldest then
      redis.call('HDEL', KEYS[1], oldest)
    end
  end
  redis.call('HSET', KEYS[1], field, ARGV[3] .. '|' .. ARGV[6])
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
    redis.call('ZADD', uidx, 'XX', exp, sid)
    redis.call('ZADD', 'ix:' .. tag .. ':d:' .. (f[2] or 'unknown'), 'XX', exp, sid)
    local top = redis.call('ZRANGE', uidx, -1, -1, 'WITHSCORES')
    redis.call('ZADD', KEYS[3], 'XX', top[2], f[1])
    redis.call('ZADD', KEYS[4], now, sid)
    redis.call('HSET', KEYS[1], 'e', string.format('%.0f', exp))
    redis.call('PEXPIREAT', KEYS[1], exp)
  end
end
return {string.format('%.0f', exp), moved, partner}
