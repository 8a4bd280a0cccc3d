-- revoke.lua: revoke sessions of one tenant, atomically in its slot, in one
-- bounded batch.
-- KEYS: 1 ix all, 2 ix users, 3 revoked counter, 4 outbox
-- ARGV: 1 tenant tag "{T}", 2 now ms, 3 counter ttl s, 4 required user ("" = any),
--       5 except sid ("" = none), 6 mode: "idx" or "ids",
--       idx: 7 source index key, 8 offset, 9 batch size
--       ids: 7.. session ids
-- Returns {examined, kept, sid1, uid1, dev1, sid2, uid2, dev2, ...}: examined is
-- how many candidates were looked at, kept how many of them stay indexed (the
-- caller moves its offset past them).
local tag = ARGV[1]
local now = tonumber(ARGV[2])
local user = ARGV[4]
local except = ARGV[5]
local mode = ARGV[6]

local ids
local src = nil
if mode == 'idx' then
  src = ARGV[7]
  local off = tonumber(ARGV[8])
  ids = redis.call('ZRANGE', src, off, off + tonumber(ARGV[9]) - 1)
else
  ids = {}
  for i = 7, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
end

local out = {#ids, 0}
local kept = 0
local touched = {}
local n = 0
for _, sid in ipairs(ids) do
  if sid == except then
    kept = kept + 1
  else
    local h = 's:' .. tag .. ':' .. sid
    local f = redis.call('HMGET', h, 'u', 'dt')
    if f[1] then
      if user == '' or f[1] == user then
        redis.call('DEL', h)
        redis.call('ZREM', KEYS[1], sid)
        redis.call('ZREM', 'ix:' .. tag .. ':u:' .. f[1], sid)
        redis.call('ZREM', 'ix:' .. tag .. ':d:' .. (f[2] or 'unknown'), sid)
        redis.call('ZADD', KEYS[4], now, sid)
        touched[f[1]] = true
        n = n + 1
        out[#out + 1] = sid
        out[#out + 1] = f[1]
        out[#out + 1] = f[2] or 'unknown'
      else
        kept = kept + 1
      end
    else
      -- The hash is gone (expired): drop the stale member where it was found.
      redis.call('ZREM', KEYS[1], sid)
      if src then
        redis.call('ZREM', src, sid)
      end
      if user ~= '' then
        redis.call('ZREM', 'ix:' .. tag .. ':u:' .. user, sid)
      end
    end
  end
end

-- A user's score in ix users is the latest expiry among the user's sessions.
for uid in pairs(touched) do
  local top = redis.call('ZRANGE', 'ix:' .. tag .. ':u:' .. uid, -1, -1, 'WITHSCORES')
  if #top == 0 or tonumber(top[2]) <= now then
    redis.call('ZREM', KEYS[2], uid)
  else
    redis.call('ZADD', KEYS[2], 'XX', top[2], uid)
  end
end
if n > 0 then
  redis.call('INCRBY', KEYS[3], n)
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
out[2] = kept
return out
