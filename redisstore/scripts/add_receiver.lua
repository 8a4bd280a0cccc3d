-- add_receiver.lua: add a receiver to a tenant unless it has the most it may.
-- KEYS: 1 the tenant's receivers
-- ARGV: 1 id, 2 receiver JSON, 3 the most receivers a tenant may have
-- Returns 1 when added, 0 when the tenant has the most already.
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
