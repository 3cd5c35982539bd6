"""The Lua scripts of the Redis store (see `memory.redis_store` for the keys they use).

Each runs atomically in Redis. KEYS[1] is a sender's `conv` hash, KEYS[2] their history,
KEYS[3] their documents; for the scripts that keep the console's list true, KEYS[4] is the
`recent` index and KEYS[5] the `person` index (sorted sets of senders, under a hash tag of
their own: these scripts span two slots, so they need one Redis server, not a Cluster).
Times in the lock field are Redis's own (`TIME`), so hosts whose clocks differ agree on
when a lease ends.

The delivery scripts work on the `{deliveries}` keys alone: a hash per MessageSid, a sorted
set per sender and per status, and the set of statuses seen. Which status and sender keys a
delivery touches is only known once its hash is read, so they build those names from the
prefixes passed in ARGV; every one is under the same hash tag, on the same node.
"""

# The milliseconds on Redis's clock.
_NOW_MS = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# Whether another token holds the lock, or a live claim (`q:<id>`), for the message id.
# ARGV[1] is the token, ARGV[3] the message id (a token is "pid:random:message id").
_IN_FLIGHT = """
local function expiry(value)
  return tonumber(string.match(value, ' (%d+)$')) or 0
end
local function owner(value)
  return string.match(value, '^(.*) %d+$')
end
local function in_flight(now)
  if ARGV[3] == '' then return false end
  local held = redis.call('HGET', KEYS[1], 'lock')
  if held and expiry(held) > now and owner(held) ~= ARGV[1]
      and string.match(held, '^[^:]*:[^:]*:(.*) %d+$') == ARGV[3] then
    return true
  end
  local claim = redis.call('HGET', KEYS[1], 'q:' .. ARGV[3])
  return claim ~= false and expiry(claim) > now and owner(claim) ~= ARGV[1]
end
"""

# Claim the message id before waiting for the lock. ARGV: token, lease in ms, message id.
# Returns 1 when claimed, 0 when another delivery of the message holds the claim or lock.
CLAIM = (
    _NOW_MS
    + _IN_FLIGHT
    + """
local now = now_ms()
if in_flight(now) then return 0 end
redis.call('HSET', KEYS[1], 'q:' .. ARGV[3], ARGV[1] .. ' ' .. (now + tonumber(ARGV[2])))
return 1
"""
)

# Take the sender's lock if it is free or its lease is over, and drop the token's claim.
# ARGV: token, lease in ms, message id. Returns 1 when taken, 0 when another message holds
# it, 2 when another delivery of this message id holds the lock or the claim.
LOCK = (
    _NOW_MS
    + _IN_FLIGHT
    + """
local now = now_ms()
if in_flight(now) then return 2 end
local held = redis.call('HGET', KEYS[1], 'lock')
if held and expiry(held) > now then return 0 end
redis.call('HSET', KEYS[1], 'lock', ARGV[1] .. ' ' .. (now + tonumber(ARGV[2])))
if ARGV[3] ~= '' then
  local claim = redis.call('HGET', KEYS[1], 'q:' .. ARGV[3])
  if claim and owner(claim) == ARGV[1] then redis.call('HDEL', KEYS[1], 'q:' .. ARGV[3]) end
end
return 1
"""
)

# Release the lock and the claim if they are still ours. ARGV: token, message id.
UNLOCK = """
local mine = ARGV[1] .. ' '
local held = redis.call('HGET', KEYS[1], 'lock')
if held and string.sub(held, 1, #mine) == mine then
  redis.call('HDEL', KEYS[1], 'lock')
end
if ARGV[2] ~= '' then
  local claim = redis.call('HGET', KEYS[1], 'q:' .. ARGV[2])
  if claim and string.sub(claim, 1, #mine) == mine then
    redis.call('HDEL', KEYS[1], 'q:' .. ARGV[2])
  end
end
return 1
"""

# Make a turn's writes. ARGV:
#  1 optimistic (1/0)   2 the version read   3 message id to record ('' none)
#  4 the exchange ('' when nothing is kept)   5 the state   6 its time
#  7 rate window ('' when not counting)   8 the count with this message
#  9 the message number   10 its slot in the ring of ids   11 the history's limit
#  12 today's day number ('' when the expiry was renewed today)   13 expiry in s (0: none)
#  14 the sender   15 their new human_since when it changed ('' unchanged, '0' the bot again)
# An exchange kept puts the sender in the `recent` index at its time (one ZADD a message);
# a person taking or handing back the conversation changes the `person` index.
# Returns {0} on a conflict (nothing written), {2, record} for an id recorded meanwhile
# (nothing written), else {1}.
COMMIT = (
    _NOW_MS
    + """
local conv, history = KEYS[1], KEYS[2]
local id, exchange = ARGV[3], ARGV[4]
local slot = 's:' .. ARGV[10]
local now = redis.call('HMGET', conv, 'v', 'lock', 'r:' .. id, slot, 'q:' .. id)
if ARGV[1] == '1' then
  if (now[1] or '') ~= ARGV[2] then return {0} end
  -- Nobody may hold the lock, nor claim this message id (a delivery of it about to wait).
  for _, held in ipairs({now[2], now[5]}) do
    if held then
      local expiry = tonumber(string.match(held, ' (%d+)$'))
      if expiry and expiry > now_ms() then return {0} end
    end
  end
end
if id ~= '' and now[3] then return {2, now[3]} end
local fields = {'v', (tonumber(now[1]) or 0) + 1}
if ARGV[7] ~= '' then
  table.insert(fields, 'w'); table.insert(fields, ARGV[7])
  table.insert(fields, 'c'); table.insert(fields, ARGV[8])
end
if exchange ~= '' then
  for _, field in ipairs({'state', ARGV[5], 'at', ARGV[6], 'n', ARGV[9]}) do
    table.insert(fields, field)
  end
  if id ~= '' then
    if now[4] then redis.call('HDEL', conv, 'r:' .. now[4]) end
    for _, field in ipairs({'r:' .. id, exchange, slot, id}) do table.insert(fields, field) end
  end
  local length = redis.call('RPUSH', history, exchange)
  local limit = tonumber(ARGV[11])
  if length >= limit + 10 then redis.call('LTRIM', history, -limit, -1) end
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[14])
  if ARGV[15] == '0' then
    redis.call('ZREM', KEYS[5], ARGV[14])
  elseif ARGV[15] ~= '' then
    redis.call('ZADD', KEYS[5], ARGV[15], ARGV[14])
  end
end
if ARGV[12] ~= '' then
  table.insert(fields, 'day'); table.insert(fields, ARGV[12])
end
redis.call('HSET', conv, unpack(fields))
if ARGV[12] ~= '' then
  for i = 1, 3 do  -- the sender's own keys; the indexes are trimmed by the purge
    if ARGV[13] ~= '0' then
      redis.call('EXPIRE', KEYS[i], ARGV[13])
    else
      redis.call('PERSIST', KEYS[i])
    end
  end
end
return {1}
"""
)

# Delete everything about the sender (ARGV[1]) but a lock another message holds, and take
# them out of the console's indexes.
FORGET = """
local lock = redis.call('HGET', KEYS[1], 'lock')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
if lock then redis.call('HSET', KEYS[1], 'lock', lock) end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
"""

# Drop what is older than ARGV[1] (seconds since 1970): the state, history entries and
# reply records; and claims whose lease is over (left by a worker that died while waiting).
# Then set the sender's (ARGV[2]) entries in the console's indexes from what is left, so the
# hourly purge also mends them (and fills them for conversations kept before they existed).
# Returns how many items went (index entries are not counted).
TIDY = (
    _NOW_MS
    + """
local now = now_ms()
local oldest = tonumber(ARGV[1])
local dropped = 0
local at = tonumber(redis.call('HGET', KEYS[1], 'at'))
if at and at < oldest then
  redis.call('HDEL', KEYS[1], 'state', 'at'); dropped = dropped + 1
end
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head or cjson.decode(head).at >= oldest then break end
  redis.call('LPOP', KEYS[2]); dropped = dropped + 1
end
while true do  -- documents, newest first: the oldest at the tail
  local tail = redis.call('LINDEX', KEYS[3], -1)
  if not tail or cjson.decode(tail).at >= oldest then break end
  redis.call('RPOP', KEYS[3]); dropped = dropped + 1
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local kind = string.sub(all[i], 1, 2)
  if (kind == 'r:' and cjson.decode(all[i + 1]).at < oldest)
      or (kind == 'q:' and (tonumber(string.match(all[i + 1], ' (%d+)$')) or 0) < now) then
    redis.call('HDEL', KEYS[1], all[i]); dropped = dropped + 1
  end
end
local last = redis.call('LINDEX', KEYS[2], -1)
if last then
  redis.call('ZADD', KEYS[4], cjson.decode(last).at, ARGV[2])
else
  redis.call('ZREM', KEYS[4], ARGV[2])
end
local state = redis.call('HGET', KEYS[1], 'state')
local since = state and tonumber(cjson.decode(state).human_since) or 0
if last and since > 0 then
  redis.call('ZADD', KEYS[5], since, ARGV[2])
else
  redis.call('ZREM', KEYS[5], ARGV[2])
end
return dropped
"""
)

# The console's indexes after the purge: out of `recent` (KEYS[1]), senders whose last
# exchange is older than ARGV[1] (their keys may have expired unseen); out of `person`
# (KEYS[2]), senders no longer in `recent`.
TRIM_INDEXES = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, sender in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[1], sender) then redis.call('ZREM', KEYS[2], sender) end
end
return 1
"""

# Read, for the console's list, each sender's last exchange and how many of the last ARGV[2]
# (the history's limit) are at or after ARGV[1] (the retention cutoff), and, when
# ARGV[2 + i] is '1', sender i's state and its time. KEYS: each sender's `conv` hash and
# history, in turn. Returns {last exchange, count, time of the state, state} per sender
# (false for what is missing).
LAST_EXCHANGES = """
local oldest, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local found = {}
for i = 1, #KEYS / 2 do
  local conv, history = KEYS[2 * i - 1], KEYS[2 * i]
  local last = redis.call('LINDEX', history, -1)
  local messages = 0
  if last then
    local length = redis.call('LLEN', history)
    local first = redis.call('LINDEX', history, math.max(0, length - limit))
    if cjson.decode(first).at >= oldest then
      messages = math.min(length, limit)
    else  -- older exchanges the purge has not dropped yet
      for _, raw in ipairs(redis.call('LRANGE', history, -limit, -1)) do
        if cjson.decode(raw).at >= oldest then messages = messages + 1 end
      end
    end
  end
  local kept = {false, false}
  if ARGV[2 + i] == '1' then kept = redis.call('HMGET', conv, 'at', 'state') end
  for _, value in ipairs({last, messages, kept[1], kept[2]}) do table.insert(found, value) end
end
return found
"""

# Delivery statuses. Field names of a delivery's hash: sid, status, rank, error, at, about,
# sender, first (when the store first heard of it).

# Record a status. KEYS: the delivery's hash, the set of statuses, the index of ARGV[7]'s
# deliveries. ARGV: 1 sid  2 status  3 its rank  4 error code  5 time  6 about  7 sender
# 8 the prefix of the per-status indexes  9 expiry in s (0: none).
# The higher rank wins (an equal one keeps the first); `about` and `sender` are kept from
# the first record that has them. Each status index holds its sids by the time of that status.
RECORD_DELIVERY = """
local hash, statuses, by_sender = KEYS[1], KEYS[2], KEYS[3]
local sid, status, at, sender = ARGV[1], ARGV[2], ARGV[5], ARGV[7]
local old = redis.call('HMGET', hash, 'status', 'rank', 'about', 'sender', 'first')
local fields = {}
local function set(field, value)
  table.insert(fields, field); table.insert(fields, value)
end
local first = old[5] or at
if not old[1] then
  set('sid', sid); set('first', at)
end
if not old[1] or tonumber(ARGV[3]) > tonumber(old[2]) then
  if old[1] then redis.call('ZREM', ARGV[8] .. old[1], sid) end
  redis.call('ZADD', ARGV[8] .. status, at, sid)
  redis.call('SADD', statuses, status)
  set('status', status); set('rank', ARGV[3]); set('error', ARGV[4]); set('at', at)
end
if (old[3] or '') == '' and ARGV[6] ~= '' then set('about', ARGV[6]) end
if (old[4] or '') == '' and sender ~= '' then
  set('sender', sender)
  redis.call('ZADD', by_sender, first, sid)
end
if #fields > 0 then redis.call('HSET', hash, unpack(fields)) end
if ARGV[9] ~= '0' then
  redis.call('EXPIRE', hash, ARGV[9])
  if sender ~= '' then redis.call('EXPIRE', by_sender, ARGV[9]) end
end
return 1
"""

# Count the deliveries whose status was recorded at or after ARGV[1], per status. KEYS[1]:
# the set of statuses; ARGV[2] the prefix of the per-status indexes. Returns
# {status, count, …} for each status with any.
COUNT_DELIVERIES = """
local counts = {}
for _, status in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local n = redis.call('ZCOUNT', ARGV[2] .. status, ARGV[1], '+inf')
  if n > 0 then table.insert(counts, status); table.insert(counts, n) end
end
return counts
"""

# Delete a sender's deliveries. KEYS[1]: the index of their deliveries. ARGV: the prefix of
# the delivery hashes, of the per-status indexes.
FORGET_DELIVERIES = """
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local status = redis.call('HGET', ARGV[1] .. sid, 'status')
  if status then redis.call('ZREM', ARGV[2] .. status, sid) end
  redis.call('DEL', ARGV[1] .. sid)
end
redis.call('DEL', KEYS[1])
return 1
"""

# Delete up to ARGV[2] deliveries whose status was recorded before ARGV[1]. KEYS[1]: the set
# of statuses. ARGV 3, 4, 5: the prefixes of the delivery hashes, the per-sender and the
# per-status indexes. Returns how many went (the caller repeats while that is ARGV[2]).
PURGE_DELIVERIES = """
local left, dropped = tonumber(ARGV[2]), 0
for _, status in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local index = ARGV[5] .. status
  local sids = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. ARGV[1], 'LIMIT', 0, left)
  for _, sid in ipairs(sids) do
    local sender = redis.call('HGET', ARGV[3] .. sid, 'sender')
    if sender and sender ~= '' then redis.call('ZREM', ARGV[4] .. sender, sid) end
    redis.call('DEL', ARGV[3] .. sid)
    redis.call('ZREM', index, sid)
  end
  dropped = dropped + #sids
  left = left - #sids
  if redis.call('ZCARD', index) == 0 then redis.call('SREM', KEYS[1], status) end
  if left <= 0 then break end
end
return dropped
"""

# Keep a document at the head of the sender's list, replacing one with the same id, and keep
# the latest ARGV[3]. ARGV: id, the document (JSON), the limit, expiry in s (0: none).
KEEP_DOCUMENT = """
local id = ARGV[1]
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if cjson.decode(raw).id == id then redis.call('LREM', KEYS[1], 0, raw) end
end
redis.call('LPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if ARGV[4] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 1
"""
