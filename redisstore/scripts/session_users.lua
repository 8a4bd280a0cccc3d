-- session_users.lua: the user of each session hash, in one call (a revoke
-- batch names the user indexes it may change before it runs). Reads only.
-- KEYS: the session hashes. Returns their user ids, "" for a missing hash.
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HGET', KEYS[i], 'u') or ''
end
return out
