-- list_history.lua: one page of a tenant's (or one user's) active and ended
-- sessions together, ordered by expires_at descending, then id descending,
-- with the exact total. What is past its time is dropped first (expired
-- active members, ended records past their drop time), so the total counts
-- only what the page can show.
-- The page comes from the union index ux = ix ∪ hx (sid -> expires_at ms),
-- which history keeps in step with ix and hx (create.lua, touch.lua,
-- lib_history.lua, revoke_batch.lua, the sweep's prune_expired.lua and
-- prune_users.lua): its members in descending order are the listing, so a
-- page is a rank range. ix and hx never share a member (a revoked session
-- leaves ix; its id is refused to a create while its record lives), so a
-- union whose size is not |ix| + |hx| is not in step (written before this
-- index existed, or while history was off) and is built again here from
-- ix and hx (ZUNIONSTORE, once: O(n log n)).
-- KEYS: 1 active index (ix all or ix user), 2 ended index (hx all or hx
--       user), 3 ended drop times (hd), 4 ended records (eh), 5 union
--       index (ux all or ux user), 6 the user's ended drop times (hd user;
--       a user's list only)
-- ARGV: 1 now ms, 2 offset, 3 page size, 4 "1" when KEYS[2] is a user's
--       ended index
-- Returns {total, kind1, id1, kind2, id2, ...}: kind "a" (active) or "e" (ended).
-- Cost: O(log n + page) at any depth, plus what it prunes (each member
-- once).
local now, off, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local act, ended, drops, recs, union = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- Active members past their expiry leave ix and the union, as the sweep's
-- prune does (lib_prune.lua).
pruneExpired(act, union, now)

-- Drop what is past its time: from the tenant's records and index, or, for
-- a user's list, what hd no longer keeps (past its time or over the cap;
-- the tenant's records are left to the tenant's next history write or read).
-- Both drop the first records in hd's order (drop time, then id), and
-- records are added later in that order, so the user's records hd no
-- longer keeps are the first in hd user's same order: they are checked from
-- the first until one that hd keeps.
if ARGV[4] == '1' then
  local udrops = KEYS[6]
  local gone = {}
  local function check(sid)
    local d = redis.call('ZSCORE', drops, sid)
    if not d or tonumber(d) <= now then
      gone[#gone + 1] = sid
      return nil
    end
    return d
  end
  if redis.call('ZCARD', udrops) ~= redis.call('ZCARD', ended) then
    -- Not in step (written before hd user existed): built from hd, once.
    redis.call('DEL', udrops)
    for _, sid in ipairs(redis.call('ZRANGE', ended, 0, -1)) do
      local d = check(sid)
      if d then
        redis.call('ZADD', udrops, d, sid)
      end
    end
    local at = redis.call('PEXPIRETIME', ended)
    if at > 0 then
      redis.call('PEXPIREAT', udrops, at)
    end
  else
    local from, kept = 0, false
    repeat
      local first = redis.call('ZRANGE', udrops, from, from + 99)
      for _, sid in ipairs(first) do
        if check(sid) then
          kept = true
          break
        end
      end
      from = from + 100
    until kept or #first < 100
  end
  for i = 1, #gone, 1000 do
    local j = math.min(i + 999, #gone)
    redis.call('ZREM', ended, unpack(gone, i, j))
    redis.call('ZREM', union, unpack(gone, i, j))
    redis.call('ZREM', udrops, unpack(gone, i, j))
  end
else
  -- Every due record goes (at most the per-tenant cap), 1000 at a time.
  repeat
    local past = redis.call('ZRANGEBYSCORE', drops, '-inf', now, 'LIMIT', 0, 1000)
    if #past > 0 then
      redis.call('ZREM', drops, unpack(past))
      redis.call('HDEL', recs, unpack(past))
      redis.call('ZREM', ended, unpack(past))
      redis.call('ZREM', union, unpack(past))
    end
  until #past < 1000
end

local na = redis.call('ZCARD', act)
local ne = redis.call('ZCARD', ended)
local total = redis.call('ZCARD', union)
if total ~= na + ne then
  -- Not in step: build it from ix and hx, to expire with the later of them.
  redis.call('DEL', union)
  if na + ne > 0 then
    total = redis.call('ZUNIONSTORE', union, 2, act, ended, 'AGGREGATE', 'MAX')
    local at, keep = 0, false
    for _, key in ipairs({act, ended}) do
      local t = redis.call('PEXPIRETIME', key)
      if t == -1 then
        keep = true
      elseif t > at then
        at = t
      end
    end
    if not keep and at > 0 then
      redis.call('PEXPIREAT', union, at)
    end
  else
    total = 0
  end
end

local out = {total}
if off >= total then
  return out
end
for _, sid in ipairs(redis.call('ZREVRANGE', union, off, off + size - 1)) do
  if redis.call('ZSCORE', act, sid) then
    out[#out + 1] = 'a'
  else
    out[#out + 1] = 'e'
  end
  out[#out + 1] = sid
end
return out
