-- prune_expired.lua: the sweep's pruning of a tenant index with history on:
-- the members past their expiry leave the index and its union index
-- (ux = ix ∪ hx, list_history.lua) together, so the union keeps exactly the
-- index's members and the ended ones (pruneExpired, lib_prune.lua).
-- KEYS: 1 tenant index (ix all), 2 its union index (ux all). ARGV: 1 now ms.
-- Returns the number of members removed from the index.
return pruneExpired(KEYS[1], KEYS[2], ARGV[1])
