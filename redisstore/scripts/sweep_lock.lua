-- sweep_lock.lua: take a sweep lock for a period, if nobody holds it.
-- KEYS: 1 lock. ARGV: 1 period ms. Returns 1 when taken, 0 when held.
-- The sweep frees memory, so it must run when Redis is full (maxmemory,
-- noeviction). Redis refuses a memory-growing command (SET) inside a script
-- without flags only when it is the script's first write: the UNLINK of the
-- lock, absent as just checked, changes nothing and is that first write.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('UNLINK', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
