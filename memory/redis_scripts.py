"""The Lua scripts of the Redis store (see `memory.redis_store` for the keys they use).

Each runs atomically in Redis. KEYS[1] is a sender's `conv` hash, KEYS[2] their history,
KEYS[3] their documents.
Times in the lock field are Redis's own (`TIME`), so hosts whose clocks differ agree on
when a lease ends.
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
end
if ARGV[12] ~= '' then
  table.insert(fields, 'day'); table.insert(fields, ARGV[12])
end
redis.call('HSET', conv, unpack(fields))
if ARGV[12] ~= '' then
  for _, key in ipairs(KEYS) do
    if ARGV[13] ~= '0' then redis.call('EXPIRE', key, ARGV[13]) else redis.call('PERSIST', key) end
  end
end
return {1}
"""
)

# Delete everything about the sender but a lock another message holds.
FORGET = """
local lock = redis.call('HGET', KEYS[1], 'lock')
redis.call('DEL', unpack(KEYS))
if lock then redis.call('HSET', KEYS[1], 'lock', lock) end
return 1
"""

# Drop what is older than ARGV[1] (seconds since 1970): the state, history entries and
# reply records; and claims whose lease is over (left by a worker that died while waiting).
# Returns how many items went.
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
return dropped
"""
)

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
