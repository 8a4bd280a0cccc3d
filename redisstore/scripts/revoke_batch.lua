-- revoke_batch.lua: revoke sessions of one tenant, atomically in its slot, in one
-- bounded batch, and record what the batch's revocation events and
-- cross-tenant cleanup need (revoke_records.go), so that a lost reply or a
-- crash after this script loses no event. Every key it touches is declared.
-- With history on, each revoked session leaves a compact ended record,
-- listed by hx all and its user's hx, dropped from all of them once
-- its time in hd is past (pruned here and by every history read) or when
-- the tenant holds more than the cap (oldest first); and the operation
-- leaves one audit entry, whose count and first ids every batch adds to.
-- KEYS: 1 ix all, 2 ix users, 3 revoked counter, 4 revocation records,
--       5 tenant partner, 6 source index (where the ids were read),
--       7 ended records, 8 ended drop times, 9 ended index, 10 audit,
--       11 audit order, 12 union all (ux: written only with history on),
--       then n session hashes (one per id, in order),
--       then u user indexes (one per user id below),
--       then u user ended indexes (same order),
--       then u user union indexes (same order),
--       then u user ended drop times (hd user, same order),
--       then d device indexes (one per device type below)
-- ARGV: 1 now ms, 2 counter ttl s, 3 required user ("" = any),
--       4 except sid ("" = none), 5 record id, 6 record header,
--       7 records expire at (ms), 8 rank of the first id in the source index
--       (-1 = the ids were not read from it), 9 history ms (0 = off),
--       10 history cap, 11 audit id, 12 audit header, 13 audit cap,
--       14 n, 15 u, 16 d,
--       then n session ids, u user ids, d device types
-- Returns {examined, kept, record}: examined is how many ids were looked at,
-- kept how many of them stay indexed (the caller moves its offset past
-- them), record is "" when nothing was revoked, else what was stored under
-- the record id: header US partner US sid1 US uid1 US sid2 US uid2 ...
-- (US = \31; the partner is the tenant's, read here so that it is the one
-- the revoked sessions had).
-- A session whose user or device index was not declared (its id was reused
-- by another user since the caller read it: a login racing this revocation)
-- is kept, fully indexed.
-- Work is per batch, not per session, where Redis allows: one variadic DEL
-- of the hashes, one ZREM (or ZREMRANGEBYRANK) per index key.
-- The union indexes (ux = ix ∪ hx) keep a revoked session (now ended, under
-- the same expires_at); a stale member (expired, never revoked) leaves them
-- as it leaves ix.
local now = tonumber(ARGV[1])
local user = ARGV[3]
local except = ARGV[4]
local off = tonumber(ARGV[8])
local history = tonumber(ARGV[9])
local n, nu, nd = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local src = KEYS[6]
local K, A = 12, 16 -- the fixed KEYS and ARGV before the lists

local ids, uidx, uhist, uunion, udrops, didx = {}, {}, {}, {}, {}, {}
for i = 1, n do
  ids[i] = ARGV[A + i]
end
for i = 1, nu do
  uidx[ARGV[A + n + i]] = KEYS[K + n + i]
  uhist[ARGV[A + n + i]] = KEYS[K + n + nu + i]
  uunion[ARGV[A + n + i]] = KEYS[K + n + 2 * nu + i]
  udrops[ARGV[A + n + i]] = KEYS[K + n + 3 * nu + i]
end
for i = 1, nd do
  didx[ARGV[A + n + nu + i]] = KEYS[K + n + 4 * nu + i]
end

-- variadic runs cmd on key with the members of list, in chunks that Lua's
-- unpack can take.
local function variadic(cmd, key, list)
  for i = 1, #list, 1000 do
    local j = math.min(i + 999, #list)
    if key then
      redis.call(cmd, key, unpack(list, i, j))
    else
      redis.call(cmd, unpack(list, i, j))
    end
  end
end

local function push(t, k, v)
  local l = t[k]
  if not l then
    l = {}
    t[k] = l
  end
  l[#l + 1] = v
end

local kept = 0
local hashes = {}  -- hashes of the revoked sessions
local gone = {}    -- members to drop from the tenant index: revoked and stale
local stale = {}   -- members whose hash is gone (expired): they leave ux too
local byUser = {}  -- user index key -> members to drop from it
local byDev = {}   -- device index key -> members to drop from it
local users = {}   -- user id -> its index key, to recompute its latest expiry
local partner = redis.call('GET', KEYS[5]) or ''
local rec = {ARGV[6], partner}
local ended = {}   -- history: {sid, uid, record fields, expires ms} of each revoked session
local seen = {}    -- a repeated id counts once
for i, sid in ipairs(ids) do
  if seen[sid] then
    -- already handled in this batch
  elseif sid == except then
    kept = kept + 1
  else
    local h = KEYS[K + i]
    local f = redis.call('HMGET', h, 'u', 'dt')
    local uid = f[1]
    if uid then
      local ukey, dkey = uidx[uid], didx[f[2] or 'unknown']
      if (user == '' or uid == user) and ukey and dkey then
        hashes[#hashes + 1] = h
        gone[#gone + 1] = sid
        users[uid] = ukey
        push(byUser, ukey, sid)
        push(byDev, dkey, sid)
        rec[#rec + 1] = sid
        rec[#rec + 1] = uid
        if history > 0 then
          ended[#ended + 1] = {sid, uid, redis.call('HGETALL', h), redis.call('PEXPIRETIME', h)}
        end
      else
        kept = kept + 1
      end
    else
      -- The hash is gone (expired): drop the stale member where it was found.
      gone[#gone + 1] = sid
      stale[#stale + 1] = sid
      if user ~= '' and uidx[user] then
        push(byUser, uidx[user], sid)
      end
    end
  end
  seen[sid] = true
end

-- The source index: by rank when every examined member goes and the ids
-- are still the members at those ranks (they were read before this script).
if #gone > 0 then
  local byRank = off >= 0 and kept == 0 and #gone == #ids
  if byRank then
    local current = redis.call('ZRANGE', src, off, off + #ids - 1)
    for i = 1, #ids do
      if current[i] ~= ids[i] then
        byRank = false
        break
      end
    end
  end
  if byRank then
    redis.call('ZREMRANGEBYRANK', src, off, off + #ids - 1)
  else
    variadic('ZREM', src, gone)
  end
  if src ~= KEYS[1] then
    variadic('ZREM', KEYS[1], gone)
  end
end
for key, members in pairs(byUser) do
  if key ~= src then
    variadic('ZREM', key, members)
  end
end
for key, members in pairs(byDev) do
  variadic('ZREM', key, members)
end
variadic('DEL', nil, hashes)

-- History, written after the deletes (a full Redis refuses a script whose
-- first write may grow memory, not its later ones).
if history > 0 then
  variadic('ZREM', KEYS[12], stale)
  if user ~= '' and uidx[user] then
    variadic('ZREM', uunion[user], stale)
  end
  keepHistory({records = KEYS[7], drops = KEYS[8], index = KEYS[9], union = KEYS[12], audit = KEYS[10],
    order = KEYS[11], userIndex = uhist, userUnion = uunion, userDrops = udrops, ms = history, cap = tonumber(ARGV[10]), auditID = ARGV[11],
    auditHeader = ARGV[12], auditCap = tonumber(ARGV[13])}, ended, now, partner)
end

-- A user's score in ix users is the latest expiry among the user's sessions.
local drop, keep = {}, {}
for uid, key in pairs(users) do
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 or tonumber(top[2]) <= now then
    drop[#drop + 1] = uid
  else
    keep[#keep + 1] = top[2]
    keep[#keep + 1] = uid
  end
end
variadic('ZREM', KEYS[2], drop)
if #keep > 0 then
  for i = 1, #keep, 1000 do
    redis.call('ZADD', KEYS[2], 'XX', unpack(keep, i, math.min(i + 999, #keep)))
  end
end

local nrev = #hashes
if nrev == 0 then
  return {#ids, kept, ''}
end
redis.call('INCRBY', KEYS[3], nrev)
redis.call('EXPIRE', KEYS[3], ARGV[2])
local record = table.concat(rec, '\31')
redis.call('HSET', KEYS[4], ARGV[5], record)
redis.call('PEXPIREAT', KEYS[4], ARGV[7], 'NX')
redis.call('PEXPIREAT', KEYS[4], ARGV[7], 'GT')
return {#ids, kept, record}
