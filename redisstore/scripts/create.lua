-- create.lua: store a new session and index it, atomically in the tenant
-- slot, within the tenant's session policy (lib_history.lua is prepended).
-- KEYS: 1 session hash, 2 ix all, 3 ix user, 4 ix device, 5 ix users,
--       6 tenant partner, 7 created counter, 8 outbox, 9 adoption marker,
--       10 policy, 11 revoked counter, 12 revocation records,
--       13 ended records, 14 ended drop times, 15 ended index,
--       16 user ended index, 17 audit, 18 audit order,
--       19-23 device indexes (desktop, mobile, tablet, bot, unknown),
--       24 union all, 25 user union (ux: written only with history on),
--       26 user ended drop times (hd user),
--       then n session hashes (the user's live sessions the caller read)
-- ARGV: 1 sid, 2 uid, 3 expires ms, 4 absolute expires ms, 5 now ms,
--       6 partner ("" = inherit the tenant's), 7 counter ttl s,
--       8 default max sessions per user, 9 default on_limit,
--       10 record id, 11 record header, 12 records expire at (ms),
--       13 history ms (0 = off), 14 history cap, 15 audit id,
--       16 audit header, 17 audit cap, 18 n, then n session ids,
--       then field, value pairs of the hash
-- Returns {1, partner, adopt, record} on success, {-1} when the session
-- exists, {-2, partner} when the tenant belongs to another partner, {-3}
-- when the user is at the limit and the policy refuses, {-4} when the
-- user's live sessions are not the ones declared (a create or revocation
-- raced the caller's read: read them again and retry).
-- adopt is the expiry (ms) of the adoption marker when this create gave the
-- tenant its partner while it already had live sessions, else 0: those
-- sessions are the partner's from now on (a session's partner is its
-- tenant's, tp), and the caller adds them to the partner's view.
-- record is "" or, when the create evicted the user's oldest sessions to
-- stay within the limit (on_limit evict_oldest), the revocation record it
-- stored under the record id, in revoke_batch.lua's format: the caller
-- relays it (events, pointers, views) as after any revocation.
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
local nowN = tonumber(now)
local uid = ARGV[2]
local n = tonumber(ARGV[18])
local history = tonumber(ARGV[13])
local F = 18 + n -- the last ARGV before the fields

-- The limit: count the user's live sessions; at the limit, refuse or pick
-- the oldest (by created_at, then id) to evict. Nothing is written yet.
local pol = redis.call('HMGET', KEYS[10], 'm', 'o')
local max = tonumber(pol[1] or ARGV[8]) or 0
local onLimit = pol[2] or ARGV[9]
local evict = {}
if max > 0 then
  local live = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf')
  if #live >= max then
    if onLimit == 'refuse' then
      return {-3}
    end
    local declared = {}
    for i = 1, n do
      declared[ARGV[18 + i]] = KEYS[26 + i]
    end
    local cands = {}
    for _, sid in ipairs(live) do
      local h = declared[sid]
      if not h then
        return {-4}
      end
      local f = redis.call('HMGET', h, 'c', 'dt')
      cands[#cands + 1] = {sid = sid, hash = h, created = tonumber(f[1]) or 0, dev = f[2] or 'unknown'}
    end
    table.sort(cands, function(a, b)
      if a.created ~= b.created then
        return a.created < b.created
      end
      return a.sid < b.sid
    end)
    for i = 1, #live - max + 1 do
      evict[#evict + 1] = cands[i]
    end
  end
end

-- Evictions are revocations: the same deletes, counter, record and history
-- as revoke_batch.lua, deletes first.
local devIdx = {desktop = KEYS[19], mobile = KEYS[20], tablet = KEYS[21], bot = KEYS[22], unknown = KEYS[23]}
local record = ''
if #evict > 0 then
  local ended = {}
  local rec = {ARGV[11], partner}
  for _, e in ipairs(evict) do
    if history > 0 then
      ended[#ended + 1] = {e.sid, uid, redis.call('HGETALL', e.hash), redis.call('PEXPIRETIME', e.hash)}
    end
    redis.call('DEL', e.hash)
    redis.call('ZREM', KEYS[2], e.sid)
    redis.call('ZREM', KEYS[3], e.sid)
    redis.call('ZREM', devIdx[e.dev] or KEYS[23], e.sid)
    rec[#rec + 1] = e.sid
    rec[#rec + 1] = uid
  end
  redis.call('INCRBY', KEYS[11], #evict)
  redis.call('EXPIRE', KEYS[11], ARGV[7])
  record = table.concat(rec, '\31')
  redis.call('HSET', KEYS[12], ARGV[10], record)
  redis.call('PEXPIREAT', KEYS[12], ARGV[12], 'NX')
  redis.call('PEXPIREAT', KEYS[12], ARGV[12], 'GT')
  if history > 0 then
    keepHistory({records = KEYS[13], drops = KEYS[14], index = KEYS[15], union = KEYS[24], audit = KEYS[17],
      order = KEYS[18], userIndex = {[uid] = KEYS[16]}, userUnion = {[uid] = KEYS[25]},
      userDrops = {[uid] = KEYS[26]}, ms = history, cap = tonumber(ARGV[14]), auditID = ARGV[15],
      auditHeader = ARGV[16], auditCap = tonumber(ARGV[17])}, ended, nowN, partner)
  end
end

local had = 0
if partner ~= '' and not known then
  had = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
end

-- The partner is not stored in the hash: it is the tenant's (KEYS[6]).
local fields = {'u', uid}
for i = F + 1, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))

-- Every index entry is written before the hash gets its expiry, in one script:
-- no interleaving can observe the session without its indexes. With
-- history on, the union indexes (ux all, ux user) follow ix all and ix
-- user: the same entry, and the expired members pruned from ix leave ux.
for i = 2, 5 do
  local member = ARGV[1]
  if i == 5 then
    member = uid
  end
  local union = history > 0 and i <= 3 and KEYS[22 + i] or nil
  pruneExpired(KEYS[i], union, now)
  redis.call('ZADD', KEYS[i], 'GT', exp, member)
  redis.call('PEXPIREAT', KEYS[i], abs, 'NX')
  redis.call('PEXPIREAT', KEYS[i], abs, 'GT')
  if union then
    redis.call('ZADD', union, 'GT', exp, member)
    redis.call('PEXPIREAT', union, abs, 'NX')
    redis.call('PEXPIREAT', union, abs, 'GT')
  end
end
if #evict > 0 then
  -- The user's score is the latest expiry among the sessions left.
  local top = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  redis.call('ZADD', KEYS[5], top[2], uid)
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
return {1, partner, adopt, record}
