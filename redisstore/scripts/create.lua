-- create.lua: store a new session and index it, atomically in the tenant slot.
-- KEYS: 1 session hash, 2 ix all, 3 ix user, 4 ix device, 5 ix users,
--       6 tenant partner, 7 created counter, 8 outbox, 9 adoption marker
-- ARGV: 1 sid, 2 uid, 3 expires ms, 4 absolute expires ms, 5 now ms,
--       6 partner ("" = inherit the tenant's), 7 counter ttl s, 8.. field, value pairs
-- Returns {1, partner, adopt} on success, {-1} when the session exists,
-- {-2, partner} when the tenant belongs to another partner. adopt is the
-- expiry (ms) of the adoption marker when this create gave the tenant its
-- partner while it already had live sessions, else 0: those sessions are the
-- partner's from now on (a session's partner is its tenant's, tp), and the
-- caller adds them to the partner's view.
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
local had = 0
if partner ~= '' and not known then
  had = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
end

-- The partner is not stored in the hash: it is the tenant's (KEYS[6]).
local fields = {'u', ARGV[2]}
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
local adopt = 0
if partner ~= '' then
  if not known then
    redis.call('SET', KEYS[6], partner)
    if had > 0 then
      -- The tenant's earlier, partner-less sessions become the partner's:
      -- the partner must stay known while any of them lives (ix all expires
      -- with the tenant's last session), and the marker tells the sweep to
      -- finish adding them to the partner's view if the caller cannot.
      adopt = redis.call('PEXPIRETIME', KEYS[2])
      redis.call('PEXPIREAT', KEYS[6], adopt)
      redis.call('SET', KEYS[9], partner, 'PXAT', adopt)
    end
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
return {1, partner, adopt}
