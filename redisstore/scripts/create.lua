-- create.lua: store a new session and index it, atomically in the tenant slot.
-- KEYS: 1 session hash, 2 ix all, 3 ix user, 4 ix device, 5 ix users,
--       6 tenant partner, 7 created counter, 8 outbox
-- ARGV: 1 sid, 2 uid, 3 expires ms, 4 absolute expires ms, 5 now ms,
--       6 partner ("" = inherit the tenant's), 7 counter ttl s, 8.. field, value pairs
-- Returns {1, partner} on success, {-1} when the session exists,
-- {-2, partner} when the tenant belongs to another partner.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {-1}
end
local partner = ARGV[6]
local known = redis.call('GET', KEYS[6])
if known and known ~= '' then
  if partner == '' then
    partner = known
  elseif partner ~= known then
    return {-2, known}
  end
end
local exp = tonumber(ARGV[3])
local abs = tonumber(ARGV[4])
local now = ARGV[5]

local fields = {'u', ARGV[2], 'p', partner}
for i = 8, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))

-- Every index entry is written before the hash gets its expiry, in one script:
-- no interleaving can observe the session without its indexes.
for i = 2, 5 do
  local member = ARGV[1]
  if i == 5 then
    member = ARGV[2]
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], 'GT', exp, member)
  redis.call('PEXPIREAT', KEYS[i], abs, 'NX')
  redis.call('PEXPIREAT', KEYS[i], abs, 'GT')
end
if partner ~= '' then
  if not known then
    redis.call('SET', KEYS[6], partner)
  end
  redis.call('PEXPIREAT', KEYS[6], abs, 'NX')
  redis.call('PEXPIREAT', KEYS[6], abs, 'GT')
end
redis.call('INCR', KEYS[7])
redis.call('EXPIRE', KEYS[7], ARGV[7])
redis.call('ZADD', KEYS[8], now, ARGV[1])
redis.call('PEXPIREAT', KEYS[8], abs, 'NX')
redis.call('PEXPIREAT', KEYS[8], abs, 'GT')
redis.call('PEXPIREAT', KEYS[1], exp)
return {1, partner}
