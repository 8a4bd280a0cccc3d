-- revoke_batch.lua: revoke sessions of one tenant, atomically in its slot, in one
-- bounded batch, and record what the batch's revocation events and
-- cross-tenant cleanup need (revocations.go), so that a lost reply or a crash
-- after this script loses no event.
-- KEYS: 1 ix all, 2 ix users, 3 revoked counter, 4 revocation records,
--       5 tenant partner
-- ARGV: 1 tenant tag "{T}", 2 now ms, 3 counter ttl s, 4 required user ("" = any),
--       5 except sid ("" = none), 6 record id, 7 record header,
--       8 records expire at (ms), 9 mode: "idx" or "ids",
--       idx: 10 source index key, 11 offset, 12 batch size
--       ids: 10.. session ids
-- Returns {examined, kept, record}: examined is how many candidates were
-- looked at, kept how many of them stay indexed (the caller moves its offset
-- past them), record is "" when nothing was revoked, else what was stored
-- under the record id: header US partner US sid1 US uid1 US sid2 US uid2 ...
-- (US = \31; the partner is the tenant's, read here so that it is the one
-- the revoked sessions had).
-- Work is per batch, not per session, where Redis allows: one variadic DEL
-- of the hashes, one ZREM (or ZREMRANGEBYRANK) per index key.
local tag = ARGV[1]
local now = tonumber(ARGV[2])
local user = ARGV[4]
local except = ARGV[5]
local mode = ARGV[9]
local hprefix = 's:' .. tag .. ':'
local uprefix = 'ix:' .. tag .. ':u:'
local dprefix = 'ix:' .. tag .. ':d:'

local ids
local src = nil
local off = 0
if mode == 'idx' then
  src = ARGV[10]
  off = tonumber(ARGV[11])
  ids = redis.call('ZRANGE', src, off, off + tonumber(ARGV[12]) - 1)
else
  ids = {}
  for i = 10, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
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
local byUser = {}  -- user -> members to drop from the user's index
local byDev = {}   -- device type -> members to drop from its index
local users = {}   -- users whose latest expiry is to be recomputed
local rec = {ARGV[7], redis.call('GET', KEYS[5]) or ''}
local seen = {}    -- the hashes go at the end: a repeated id counts once
for _, sid in ipairs(ids) do
  if seen[sid] then
    -- already handled in this batch
  elseif sid == except then
    kept = kept + 1
  else
    local h = hprefix .. sid
    local f = redis.call('HMGET', h, 'u', 'dt')
    local uid = f[1]
    if uid then
      if user == '' or uid == user then
        hashes[#hashes + 1] = h
        gone[#gone + 1] = sid
        users[uid] = true
        push(byUser, uid, sid)
        push(byDev, f[2] or 'unknown', sid)
        rec[#rec + 1] = sid
        rec[#rec + 1] = uid
      else
        kept = kept + 1
      end
    else
      -- The hash is gone (expired): drop the stale member where it was found.
      gone[#gone + 1] = sid
      if user ~= '' then
        push(byUser, user, sid)
      end
    end
  end
  seen[sid] = true
end

-- The source index: when every examined member goes, by rank (the script is
-- atomic, so the ranks are those ZRANGE read).
if src and #gone > 0 then
  if kept == 0 then
    redis.call('ZREMRANGEBYRANK', src, off, off + #ids - 1)
  else
    variadic('ZREM', src, gone)
  end
end
if src ~= KEYS[1] and #gone > 0 then
  variadic('ZREM', KEYS[1], gone)
end
for uid, members in pairs(byUser) do
  local key = uprefix .. uid
  if key ~= src then
    variadic('ZREM', key, members)
  end
end
for dev, members in pairs(byDev) do
  variadic('ZREM', dprefix .. dev, members)
end
variadic('DEL', nil, hashes)

-- A user's score in ix users is the latest expiry among the user's sessions.
local drop, keep = {}, {}
for uid in pairs(users) do
  local top = redis.call('ZRANGE', uprefix .. uid, -1, -1, 'WITHSCORES')
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

local n = #hashes
if n == 0 then
  return {#ids, kept, ''}
end
redis.call('INCRBY', KEYS[3], n)
redis.call('EXPIRE', KEYS[3], ARGV[3])
local record = table.concat(rec, '\31')
redis.call('HSET', KEYS[4], ARGV[6], record)
redis.call('PEXPIREAT', KEYS[4], ARGV[8], 'NX')
redis.call('PEXPIREAT', KEYS[4], ARGV[8], 'GT')
return {#ids, kept, record}
