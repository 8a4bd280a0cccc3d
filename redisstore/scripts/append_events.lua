-- append_events.lua: append one entry for a revoked batch to the events
-- stream: the batch's shared fields once, its session ids and user ids as
-- two comma-separated lists (no id contains a comma) and their count n.
-- Readers expand an entry into one event per session. The stream runs
-- apart from the tenant's script (it has its own slot), in the cleanup
-- pipeline.
-- KEYS: 1 events stream, 2 the number of events (sessions) in the stream
-- ARGV: 1 retention (events kept), 2 type, 3 tenant, 4 partner,
--       5 revoked_at, 6 reason, 7 actor, 8.. session id, user id pairs
-- Returns the number of events appended.
--
-- Retention counts events, not entries: before the append, the oldest
-- entries go (XTRIM MINID) until the stream holds at most retention events
-- with the new ones. An entry of an older version (one event, no n) counts
-- one. A missing count (an older version's stream) starts from XLEN.
--
-- Runs when Redis is full (maxmemory, noeviction), so that a revocation's
-- event reaches the stream even then: a trim comes first because Redis
-- refuses a memory-growing command (XADD, SET) inside a script without flags
-- only when it is the script's first write. A revocation frees far more
-- memory (the sessions and their index entries) than its entry takes.
if #ARGV < 9 then
  return 0
end
local stream, countKey = KEYS[1], KEYS[2]
local retention = tonumber(ARGV[1])
-- Never more entries than events: with the trim below this one is a no-op,
-- and it is the script's first write.
redis.call('XTRIM', stream, 'MAXLEN', '~', retention)

local sessions, users = {}, {}
for i = 8, #ARGV - 1, 2 do
  sessions[#sessions + 1] = ARGV[i]
  users[#users + 1] = ARGV[i + 1]
end
local n = #sessions

local entries = redis.call('XLEN', stream)
local count = tonumber(redis.call('GET', countKey) or '-1')
if count < entries or entries == 0 then
  count = entries
end

-- Drop the oldest entries while the events would exceed the retention.
local total = count + n
-- Read the oldest entries a few at a time (an entry of a batch is large and
-- one usually makes room), doubling up to 64 while more must go.
local lastDropped, cursor, step = nil, '-', 1
while total > retention do
  local batch = redis.call('XRANGE', stream, cursor, '+', 'COUNT', step)
  step = math.min(step * 2, 64)
  if #batch == 0 then
    total = n -- all of the stream went
    break
  end
  for _, e in ipairs(batch) do
    if total <= retention then
      break
    end
    local c, f = 1, e[2]
    for j = 1, #f, 2 do
      if f[j] == 'n' then
        c = tonumber(f[j + 1]) or 1
        break
      end
    end
    total = total - c
    lastDropped = e[1]
    cursor = '(' .. e[1]
  end
end
if lastDropped then
  -- Everything up to lastDropped goes: MINID keeps ids from the next one.
  local ms, seq = string.match(lastDropped, '^(%d+)-(%d+)$')
  redis.call('XTRIM', stream, 'MINID', ms .. '-' .. string.format('%d', tonumber(seq) + 1))
end

redis.call('XADD', stream, '*', 'type', ARGV[2], 'tenant_id', ARGV[3], 'partner_id', ARGV[4],
  'revoked_at', ARGV[5], 'reason', ARGV[6], 'actor', ARGV[7], 'n', n,
  'session_ids', table.concat(sessions, ','), 'user_ids', table.concat(users, ','))
redis.call('SET', countKey, total)
return n
