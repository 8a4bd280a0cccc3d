-- list_history.lua: one page of a tenant's (or one user's) active and ended
-- sessions together, ordered by expires_at descending, then id descending,
-- with the exact total. History past its time is dropped first, so the
-- total counts only what the page can show.
-- KEYS: 1 active index (ix all or ix user), 2 ended index (hx all or hx
--       user), 3 ended drop times (hd), 4 ended records (eh)
-- ARGV: 1 now ms, 2 offset, 3 page size, 4 "1" when KEYS[2] is a user's
--       ended index (checked member by member against hd: a user has few)
-- Returns {total, kind1, id1, kind2, id2, ...}: kind "a" (active) or "e" (ended).
-- Cost: O(log n) per probe of the binary search over the split of the
-- first offset items between the two indexes (O(log n) probes), then the
-- page: O(log^2 n + page) at any depth.
local now, off, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local act, ended, drops, recs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- Drop what is past its time: from the tenant's records and index, or, for
-- a user's list, what hd no longer keeps (past its time or over the cap;
-- the tenant's records are left to the tenant's next history write or read).
if ARGV[4] == '1' then
  local gone = {}
  for _, sid in ipairs(redis.call('ZRANGE', ended, 0, -1)) do
    local d = redis.call('ZSCORE', drops, sid)
    if not d or tonumber(d) <= now then
      gone[#gone + 1] = sid
    end
  end
  for i = 1, #gone, 1000 do
    redis.call('ZREM', ended, unpack(gone, i, math.min(i + 999, #gone)))
  end
else
  -- Every due record goes (at most the per-tenant cap), 1000 at a time.
  repeat
    local past = redis.call('ZRANGEBYSCORE', drops, '-inf', now, 'LIMIT', 0, 1000)
    if #past > 0 then
      redis.call('ZREM', drops, unpack(past))
      redis.call('HDEL', recs, unpack(past))
      redis.call('ZREM', ended, unpack(past))
    end
  until #past < 1000
end

local na = redis.call('ZCOUNT', act, '(' .. now, '+inf')
local ne = redis.call('ZCARD', ended)
local out = {na + ne}
if off >= na + ne then
  return out
end

-- at returns the member and score at a rank in descending order.
local function at(key, rank)
  local r = redis.call('ZREVRANGE', key, rank, rank, 'WITHSCORES')
  return r[1], tonumber(r[2])
end
-- before reports whether (am, as) comes first in the listing order.
local function before(am, as, bm, bs)
  if as ~= bs then
    return as > bs
  end
  return am > bm
end

-- i = how many of the first off items are active: the smallest i such that
-- the i-th active item does not come before the (off-i-1)-th ended one.
local lo, hi = math.max(0, off - ne), math.min(off, na)
while lo < hi do
  local i = math.floor((lo + hi) / 2)
  local am, as = at(act, i)
  local bm, bs = at(ended, off - i - 1)
  if before(am, as, bm, bs) then
    lo = i + 1
  else
    hi = i
  end
end
local i, j = lo, off - lo

local a = {}
if i < na then
  a = redis.call('ZREVRANGE', act, i, math.min(i + size, na) - 1, 'WITHSCORES')
end
local e = redis.call('ZREVRANGE', ended, j, j + size - 1, 'WITHSCORES')
local x, y = 1, 1
while #out < 1 + 2 * size and (x <= #a or y <= #e) do
  local takeA
  if x > #a then
    takeA = false
  elseif y > #e then
    takeA = true
  else
    takeA = before(a[x], tonumber(a[x + 1]), e[y], tonumber(e[y + 1]))
  end
  if takeA then
    out[#out + 1] = 'a'
    out[#out + 1] = a[x]
    x = x + 2
  else
    out[#out + 1] = 'e'
    out[#out + 1] = e[y]
    y = y + 2
  end
end
return out
