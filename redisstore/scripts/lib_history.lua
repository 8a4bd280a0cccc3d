-- lib_history.lua: the history and audit writes of a revocation, shared by
-- revoke_batch.lua and create.lua (evictions): its source is prepended to
-- theirs. See history.go for the keys.
--
-- keepHistory stores one compact ended record per revoked session, drops
-- what is past its time or beyond the cap (oldest first), and adds the
-- revocations to the operation's audit entry. h names the keys and limits:
-- records (eh), drops (hd), index (hx all), union (ux all), audit (au),
-- order (ai), userIndex, userUnion and userDrops (user id -> its hx, ux
-- and hd user keys, declared by the caller), ms (the
-- retention), cap, auditID, auditHeader (JSON: at, a actor, ar role,
-- r reason, t target), auditCap. ended lists {sid, uid, HGETALL of the
-- hash, its PEXPIRETIME} of each revoked session. Call it after the
-- deletes: a full Redis refuses a script whose first write may grow memory.
-- The union indexes (ux = ix ∪ hx, list_history.lua) keep an ended session
-- under its expires_at, as ix did; a dropped record leaves ux all here and
-- the user's ux with the user's hx, when that user's list is read.
local function keepHistory(h, ended, now, partner)
  local function each(cmd, key, list)
    for i = 1, #list, 1000 do
      redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
    end
  end
  local function dropEnded(list)
    if #list > 0 then
      each('HDEL', h.records, list)
      each('ZREM', h.drops, list)
      each('ZREM', h.index, list)
      each('ZREM', h.union, list)
    end
  end
  local hdr = cjson.decode(h.auditHeader)
  local drop = now + h.ms
  for _, e in ipairs(ended) do
    local sid, uid, flat = e[1], e[2], e[3]
    local fields = {}
    for j = 1, #flat, 2 do
      fields[flat[j]] = flat[j + 1]
    end
    local exp = tonumber(e[4])
    if not exp or exp < 0 then
      exp = now
    end
    redis.call('HSET', h.records, sid, cjson.encode({f = fields, p = partner, ea = now, rb = hdr.a or '', rr = hdr.r or ''}))
    redis.call('ZADD', h.drops, drop, sid)
    redis.call('ZADD', h.index, exp, sid)
    local ukey = h.userIndex[uid]
    redis.call('ZADD', ukey, exp, sid)
    redis.call('PEXPIREAT', ukey, drop, 'NX')
    redis.call('PEXPIREAT', ukey, drop, 'GT')
    redis.call('ZADD', h.union, exp, sid)
    local uunion = h.userUnion[uid]
    redis.call('ZADD', uunion, exp, sid)
    redis.call('PEXPIREAT', uunion, drop, 'NX')
    redis.call('PEXPIREAT', uunion, drop, 'GT')
    local udrops = h.userDrops[uid]
    redis.call('ZADD', udrops, drop, sid)
    redis.call('PEXPIREAT', udrops, drop, 'NX')
    redis.call('PEXPIREAT', udrops, drop, 'GT')
  end
  if #ended > 0 then
    for _, key in ipairs({h.records, h.drops, h.index, h.union}) do
      redis.call('PEXPIREAT', key, drop, 'NX')
      redis.call('PEXPIREAT', key, drop, 'GT')
    end
  end
  dropEnded(redis.call('ZRANGEBYSCORE', h.drops, '-inf', now, 'LIMIT', 0, 1000))
  local over = redis.call('ZCARD', h.drops) - h.cap
  if over > 0 then
    dropEnded(redis.call('ZRANGE', h.drops, 0, over - 1))
  end
  if #ended == 0 or h.auditID == '' then
    return
  end

  local id = h.auditID
  if redis.call('HSETNX', h.audit, id, h.auditHeader) == 1 then
    -- Newest last, even within one millisecond: the fraction is the
    -- tenant's audit sequence (4096 entries per ms stay in order).
    local seq = redis.call('HINCRBY', h.audit, '#seq', 1)
    redis.call('ZADD', h.order, now + (seq % 4096) / 4096, id)
  end
  redis.call('HINCRBY', h.audit, id .. ':n', #ended)
  local first = redis.call('HGET', h.audit, id .. ':s')
  local list = {}
  if first and first ~= '' then
    for sid in string.gmatch(first, '[^,]+') do
      list[#list + 1] = sid
    end
  end
  for _, e in ipairs(ended) do
    if #list >= 10 then
      break
    end
    list[#list + 1] = e[1]
  end
  redis.call('HSET', h.audit, id .. ':s', table.concat(list, ','))
  -- Entries past the retention or over the cap go, oldest first.
  local gone = redis.call('ZRANGEBYSCORE', h.order, '-inf', now - h.ms, 'LIMIT', 0, 1000)
  local extra = redis.call('ZCARD', h.order) - #gone - h.auditCap
  if extra > 0 then
    gone = redis.call('ZRANGE', h.order, 0, #gone + extra - 1)
  end
  if #gone > 0 then
    local fields = {}
    for _, g in ipairs(gone) do
      fields[#fields + 1] = g
      fields[#fields + 1] = g .. ':n'
      fields[#fields + 1] = g .. ':s'
    end
    each('ZREM', h.order, gone)
    each('HDEL', h.audit, fields)
  end
  for _, key in ipairs({h.audit, h.order}) do
    redis.call('PEXPIREAT', key, now + h.ms, 'NX')
    redis.call('PEXPIREAT', key, now + h.ms, 'GT')
  end
end

