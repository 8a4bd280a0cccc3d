-- append_events.lua: append one revocation event per session of a batch to
-- the events stream, then trim it once (the stream has its own slot, so
-- this runs apart from the tenant's script, in the cleanup pipeline).
-- KEYS: 1 events stream
-- ARGV: 1 retention (MAXLEN ~), 2 type, 3 tenant, 4 partner, 5 revoked_at,
--       6 reason, 7 actor, 8.. session id, user id pairs
-- Returns the number of events appended.
-- Runs when Redis is full (maxmemory, noeviction), so that a revocation's
-- events reach the stream even then: the trim comes first because Redis
-- refuses a memory-growing command (XADD) inside a script without flags only
-- when it is the script's first write. A revocation frees far more memory
-- (the sessions and their index entries) than its events take.
if #ARGV < 9 then
  return 0
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
local n = 0
for i = 8, #ARGV - 1, 2 do
  redis.call('XADD', KEYS[1], '*', 'type', ARGV[2], 'session_id', ARGV[i], 'user_id', ARGV[i + 1],
    'tenant_id', ARGV[3], 'partner_id', ARGV[4], 'revoked_at', ARGV[5], 'reason', ARGV[6], 'actor', ARGV[7])
  n = n + 1
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
return n
