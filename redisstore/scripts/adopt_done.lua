-- adopt_done.lua: drop the adoption marker once the partner's view holds the
-- tenant's earlier sessions, unless it names another partner by now.
-- KEYS: 1 adoption marker. ARGV: 1 partner.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
