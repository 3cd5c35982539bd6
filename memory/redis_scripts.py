"""The Lua scripts of the Redis store (see `memory.redis_store` for the keys they use).

Each runs atomically in Redis. KEYS[1] is a sender's `conv` hash, KEYS[2] their history.
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

# Take the sender's lock if it is free or its lease is over. ARGV: token, lease in ms, the
# message id. Returns 1 when taken, 0 when another message holds it, 2 when this message id
# does (a token is "pid:random:message id").
LOCK = (
    _NOW_MS
    + """
local held = redis.call('HGET', KEYS[1], 'lock')
local now = now_ms()
if held then
  local expiry = tonumber(string.match(held, ' (%d+)$'))
  if expiry and expiry > now then
    local holder = string.match(held, '^[^:]*:[^:]*:(.*) %d+$')
    if ARGV[3] ~= '' and holder == ARGV[3] then return 2 end
    return 0
  end
end
redis.call('HSET', KEYS[1], 'lock', ARGV[1] .. ' ' .. (now + tonumber(ARGV[2])))
return 1
"""
)

# Release the lock if it is still ours. ARGV: token.
UNLOCK = """
local held = redis.call('HGET', KEYS[1], 'lock')
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then
  redis.call('HDEL', KEYS[1], 'lock')
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
local now = redis.call('HMGET', conv, 'v', 'lock', 'r:' .. id, slot)
if ARGV[1] == '1' then
  if (now[1] or '') ~= ARGV[2] then return {0} end
  if now[2] then
    local expiry = tonumber(string.match(now[2], ' (%d+)$'))
    if expiry and expiry > now_ms() then return {0} end
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
redis.call('DEL', KEYS[1], KEYS[2])
if lock then redis.call('HSET', KEYS[1], 'lock', lock) end
return 1
"""

# Drop what is older than ARGV[1] (seconds since 1970): the state, history entries and
# reply records. Returns how many items went.
TIDY = """
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
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'r:' and cjson.decode(all[i + 1]).at < oldest then
    redis.call('HDEL', KEYS[1], all[i]); dropped = dropped + 1
  end
end
return dropped
"""
