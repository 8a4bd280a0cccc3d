-- visit.lua: keep a tenant on the sweep's list until at least a given time,
-- if it is listed (a revocation's first step, revoke.go beginRevoke).
-- KEYS: 1 tenants zset. ARGV: 1 tenant, 2 until ms.
-- Runs when Redis is full (maxmemory, noeviction): nothing here grows memory
-- (XX only updates a listed tenant), and the expiry commands come first
-- because Redis refuses a memory-growing command (ZADD) inside a script
-- without flags only when it is the script's first write.
redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'NX')
redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'GT')
return redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[2], ARGV[1])
